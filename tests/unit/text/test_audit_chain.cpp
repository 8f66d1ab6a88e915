// The hash-chained audit log: lines link, the head follows, and every kind
// of tampering (a line deleted, altered, moved, cut from the end) is found
// where it is; rotation keeps the chain; forked writers never fork it.
#include "capture/text/audit_chain.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using test_support::slurp;
using test_support::temp_dir;

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream out(path, std::ios::trunc);
    for (const auto& l : lines) out << l << '\n';
}

std::string problems_of(const capture::chain_report& r) {
    std::string text;
    for (const auto& p : r.problems) text += p.file + ":" + std::to_string(p.line) + ": " + p.what + "\n";
    return text;
}

}  // namespace

TEST_CASE("each line links to the one before, from the genesis") {
    temp_dir d;
    std::string log = d.path + "/audit.log";
    for (int i = 0; i < 5; ++i) capture::append_chained(log, "cap-test", "action=test n=" + std::to_string(i));
    auto lines = lines_of(log);
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].rfind("seq=1 time=", 0) == 0);
    CHECK(lines[0].find(" tool=cap-test pid=") != std::string::npos);
    CHECK(lines[0].substr(lines[0].size() - 69) == "prev=" + capture::chain_genesis);
    for (std::size_t i = 1; i < lines.size(); ++i) {
        auto link = capture::parse_chain_line(lines[i]);
        REQUIRE(link);
        CHECK(link->seq == i + 1);
        CHECK(link->prev == capture::chain_hash(lines[i - 1]));
    }
    auto head = capture::parse_chain_head(slurp(capture::chain_head_path(log)));
    REQUIRE(head);
    CHECK(head->seq == 5);
    CHECK(head->hash == capture::chain_hash(lines.back()));
    auto report = capture::verify_chain({log}, capture::chain_head_path(log));
    CHECK(problems_of(report) == "");
    CHECK(report.from_genesis);
    CHECK(report.files.at(0).lines == 5);
    CHECK(report.files.at(0).last_seq == 5);
}

TEST_CASE("a value cannot forge the prev= or the seq= of a line") {
    CHECK_FALSE(capture::parse_chain_line("seq=1 action=x prev=abc"));
    CHECK_FALSE(capture::parse_chain_line("seq=x action=x prev=" + capture::chain_genesis));
    CHECK_FALSE(capture::parse_chain_line("action=x seq=1 prev=" + capture::chain_genesis));
    CHECK_FALSE(capture::parse_chain_line("seq=1 prev=" + std::string(64, 'G')));
    auto link = capture::parse_chain_line("seq=12 desc=\"a prev=b\" prev=" + capture::chain_genesis);
    REQUIRE(link);
    CHECK(link->seq == 12);
}

TEST_CASE("tampering is found at the line where the chain breaks") {
    temp_dir d;
    std::string log = d.path + "/audit.log";
    for (int i = 0; i < 6; ++i) capture::append_chained(log, "cap-test", "action=test n=" + std::to_string(i));
    const auto good = lines_of(log);
    const std::string head = capture::chain_head_path(log);
    auto verify = [&](std::vector<std::string> lines) {
        write_lines(log, lines);
        return capture::verify_chain({log}, head);
    };

    SECTION("a line deleted") {
        auto lines = good;
        lines.erase(lines.begin() + 2);
        auto r = verify(lines);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].line == 3);
        CHECK(r.problems[0].what.find("1 line(s) missing before this one (seq 3") != std::string::npos);
    }
    SECTION("a line altered") {
        auto lines = good;
        lines[2].replace(lines[2].find("n=2"), 3, "n=9");
        auto r = verify(lines);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].line == 4);
        CHECK(r.problems[0].what.find(log + ":3 (seq 3) was altered") != std::string::npos);
    }
    SECTION("two lines swapped") {
        auto lines = good;
        std::swap(lines[1], lines[2]);
        auto r = verify(lines);
        CHECK(problems_of(r).find(log + ":2: 1 line(s) missing") != std::string::npos);
        CHECK(problems_of(r).find(log + ":3: out of order: seq 2 after seq 3") != std::string::npos);
    }
    SECTION("the last line cut off, which only the head shows") {
        auto lines = good;
        lines.pop_back();
        auto r = verify(lines);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].line == 5);
        CHECK(r.problems[0].what.find("1 line(s) missing at the end") != std::string::npos);
        CHECK(capture::verify_chain({log}).ok());  // without the head, no chain can tell
    }
    SECTION("the last line altered") {
        auto lines = good;
        lines.back().replace(lines.back().find("n=5"), 3, "n=7");
        auto r = verify(lines);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].what.find("altered") != std::string::npos);
    }
    SECTION("a line that is not a chained line") {
        auto lines = good;
        lines.insert(lines.begin() + 1, "hello");
        auto r = verify(lines);
        CHECK(problems_of(r).find(log + ":2: not a chained audit line") != std::string::npos);
        CHECK(problems_of(r).find(log + ":3: does not link") != std::string::npos);
    }
    SECTION("a deleted line after the head was lost is still chained to, not healed") {
        auto lines = good;
        lines.pop_back();
        write_lines(log, lines);
        capture::append_chained(log, "cap-test", "action=test n=6");
        auto r = capture::verify_chain({log}, head);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].line == 6);
        CHECK(r.problems[0].what.find("1 line(s) missing before this one (seq 6") != std::string::npos);
    }
}

TEST_CASE("after a rotation the new file's first line links to the old file's last") {
    temp_dir d;
    std::string log = d.path + "/audit.log";
    for (int i = 0; i < 3; ++i) capture::append_chained(log, "cap-test", "action=a");
    REQUIRE(std::rename(log.c_str(), (log + ".1").c_str()) == 0);  // logrotate's create mode
    for (int i = 0; i < 2; ++i) capture::append_chained(log, "cap-test", "action=b");
    auto files = capture::chain_files(log);
    REQUIRE(files == std::vector<std::string>{log + ".1", log});
    auto first = capture::parse_chain_line(lines_of(log).at(0));
    REQUIRE(first);
    CHECK(first->seq == 4);
    CHECK(first->prev == capture::chain_hash(lines_of(log + ".1").back()));
    auto r = capture::verify_chain(files, capture::chain_head_path(log));
    CHECK(problems_of(r) == "");
    // The oldest file rotated away: what is left still verifies.
    CHECK(capture::verify_chain({log}, capture::chain_head_path(log)).ok());
    CHECK_FALSE(capture::verify_chain({log}).from_genesis);
    // Files out of order do not.
    CHECK_FALSE(capture::verify_chain({log, log + ".1"}).ok());
}

TEST_CASE("just after a nocreate rotation there is no live log, and the chain still holds") {
    temp_dir d;
    std::string log = d.path + "/audit.log";
    for (int i = 0; i < 3; ++i) capture::append_chained(log, "cap-test", "action=a");
    REQUIRE(std::rename(log.c_str(), (log + ".1").c_str()) == 0);
    auto files = capture::chain_files(log);
    REQUIRE(files == std::vector<std::string>{log + ".1"});
    CHECK(problems_of(capture::verify_chain(files, capture::chain_head_path(log))) == "");
    // The head still catches a line cut from the end of the rotated file.
    auto lines = lines_of(log + ".1");
    lines.pop_back();
    write_lines(log + ".1", lines);
    CHECK(problems_of(capture::verify_chain(files, capture::chain_head_path(log))).find("missing at the end") !=
          std::string::npos);
    // With no file at all, the log itself is named, and unreadable.
    REQUIRE(std::remove((log + ".1").c_str()) == 0);
    CHECK(capture::chain_files(log) == std::vector<std::string>{log});
}

TEST_CASE("without a head the writer links to the log's last whole line") {
    temp_dir d;
    std::string log = d.path + "/audit.log";
    for (int i = 0; i < 3; ++i) capture::append_chained(log, "cap-test", "action=a");
    REQUIRE(std::remove(capture::chain_head_path(log).c_str()) == 0);
    {
        std::ofstream torn(log, std::ios::app);
        torn << "seq=4 time=half";  // a torn write: no newline
    }
    auto before = lines_of(log);
    capture::append_chained(log, "cap-test", "action=b");
    auto after = lines_of(log);
    REQUIRE(after.size() == 5);
    CHECK(after[3] == "seq=4 time=half");  // the torn text stays a line of its own
    auto link = capture::parse_chain_line(after[4]);
    REQUIRE(link);
    CHECK(link->seq == 4);
    CHECK(link->prev == capture::chain_hash(before[2]));
    auto r = capture::verify_chain({log});
    CHECK(problems_of(r).find(log + ":4: not a chained audit line") != std::string::npos);
}

TEST_CASE("writers in many processes lose no line and keep one chain") {
    temp_dir d;
    std::string log = d.path + "/audit.log";
    constexpr int writers = 8, each = 50;
    std::vector<pid_t> children;
    for (int w = 0; w < writers; ++w) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int status = 0;
            try {
                for (int i = 0; i < each; ++i)
                    capture::append_chained(log, "cap-test", "writer=" + std::to_string(w) + " i=" + std::to_string(i));
            } catch (...) {
                status = 1;
            }
            ::_exit(status);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    auto r = capture::verify_chain({log}, capture::chain_head_path(log));
    CHECK(problems_of(r) == "");
    CHECK(r.files.at(0).lines == writers * each);
    CHECK(r.files.at(0).last_seq == writers * each);
}
