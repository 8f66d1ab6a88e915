// child_process.hpp: stdout and stderr come back on pipes, stdin is
// /dev/null, the wait status is told in words, a program that does not
// exist is an error, and a child still running is killed and reaped when
// its owner goes.
#include "capture/sys/child_process.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>

#include <string>

using namespace capture;

namespace {

// Everything on fd until its end.
std::string drain(int fd) {
    std::string out;
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        REQUIRE(::poll(&p, 1, 10000) == 1);
        char buf[256];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EAGAIN) continue;
        if (n <= 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace

TEST_CASE("child_process: its output and errors on pipes, its status in words") {
    child_process c = child_process::spawn({"sh", "-c", "echo out; echo err >&2; cat; exit 3"});
    CHECK(drain(c.out_fd()) == "out\n");  // cat read /dev/null: nothing more
    CHECK(drain(c.err_fd()) == "err\n");
    auto st = c.reap(true);
    REQUIRE(st);
    CHECK(wait_status_text(*st) == "exit status 3");
    CHECK(c.pid() == -1);
}

TEST_CASE("child_process: a program that is not there; a child left running") {
    CHECK_THROWS_WITH(child_process::spawn({"/nonexistent/ssh"}), Catch::Contains("/nonexistent/ssh: cannot run"));
    pid_t pid;
    {
        child_process c = child_process::spawn({"sleep", "60"});
        pid = c.pid();
        CHECK(::kill(pid, 0) == 0);
        CHECK_FALSE(c.reap(false));
    }
    CHECK(::kill(pid, 0) != 0);  // killed and reaped: not even a zombie
    child_process k = child_process::spawn({"sleep", "60"});
    k.signal(SIGTERM);
    auto st = k.reap(true);
    REQUIRE(st);
    CHECK(wait_status_text(*st) == "killed by signal 15");
}
