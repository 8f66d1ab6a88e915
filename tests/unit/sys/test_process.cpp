// Processes: start times from /proc, the handshake of a detached daemon,
// and the account a capture drops to.
#include "capture/sys/process.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>

TEST_CASE("field 22 of /proc/PID/stat, whatever the command name holds") {
    std::string tail = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21";
    CHECK(capture::parse_stat_start_time("123 (cat)" + tail) == 424242u);
    CHECK(capture::parse_stat_start_time("123 (a) b (c) d)" + tail) == 424242u);
    CHECK(capture::parse_stat_start_time("123 (x y z)" + tail) == 424242u);
    CHECK_FALSE(capture::parse_stat_start_time("123 cat S 1 2"));
    CHECK_FALSE(capture::parse_stat_start_time("123 (cat) S 1 2 3"));
}

TEST_CASE("our own process matches its start time, and no other") {
    auto start = capture::process_start_time(::getpid());
    REQUIRE(start);
    CHECK(capture::process_matches(::getpid(), *start));
    CHECK_FALSE(capture::process_matches(::getpid(), *start + 1));
    CHECK_FALSE(capture::process_start_time(0));
    CHECK_FALSE(capture::process_start_time(-5));
}

TEST_CASE("the handshake carries OK, the daemon's own error, or its silence") {
    auto channel = [](const std::string& text) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        capture::unique_fd r(fds[0]), w(fds[1]);
        if (!text.empty()) capture::write_handshake(w, text);
        w.reset();
        return r;
    };
    CHECK(capture::read_handshake(channel("OK id=abc\tkind=live"), std::chrono::seconds(2)) == "id=abc\tkind=live");
    CHECK_THROWS_WITH(capture::read_handshake(channel("ERR /spool: Permission denied"), std::chrono::seconds(2)),
                      "/spool: Permission denied");
    CHECK_THROWS_WITH(capture::read_handshake(channel(""), std::chrono::seconds(2)),
                      Catch::Contains("ended before it started"));
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    capture::unique_fd r(fds[0]), w(fds[1]);
    CHECK_THROWS_WITH(capture::read_handshake(r, std::chrono::milliseconds(100)), Catch::Contains("did not report"));
}

TEST_CASE("the account to drop to") {
    auto who = capture::resolve_run_as("root", "");
    CHECK(who.uid == 0);
    CHECK(who.user == "root");
    auto fallback = capture::resolve_run_as("", "");
    CHECK((fallback.user == "tcpdump" || fallback.user == "nobody"));
    CHECK_THROWS_AS(capture::resolve_run_as("no-such-user-here", ""), capture::usage_error);
    CHECK_THROWS_AS(capture::resolve_run_as("root", "no-such-group-here"), capture::usage_error);
}

TEST_CASE("waiting for the go-ahead, within a bound") {
    auto pipe_pair = [] {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        return std::make_pair(capture::unique_fd(fds[0]), capture::unique_fd(fds[1]));
    };
    auto [r, w] = pipe_pair();
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(capture::wait_for_go(r, std::chrono::milliseconds(100)));  // nobody says go: the bound ends it
    CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(90));
    capture::write_handshake(w, "go");
    t0 = std::chrono::steady_clock::now();
    CHECK(capture::wait_for_go(r, std::chrono::seconds(10)));  // said: at once
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    auto [r2, w2] = pipe_pair();
    w2.reset();  // the starter is gone without a word
    CHECK_FALSE(capture::wait_for_go(r2, std::chrono::seconds(10)));
    auto [r3, w3] = pipe_pair();
    capture::write_handshake(w3, "something else");
    w3.reset();
    CHECK_FALSE(capture::wait_for_go(r3, std::chrono::seconds(10)));
}
