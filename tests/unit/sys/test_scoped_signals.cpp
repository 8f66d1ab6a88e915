// Unit tests for include/capture/sys/scoped_signals.hpp.
#include "capture/sys/scoped_signals.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>

namespace {
std::atomic<int> ours{0}, before{0};
void on_ours(int) { ours.fetch_add(1); }
void on_before(int) { before.fetch_add(1); }
}  // namespace

TEST_CASE("scoped_signals: its handler while it lives, the one before after") {
    struct sigaction sa {};
    sa.sa_handler = on_before;
    sigemptyset(&sa.sa_mask);
    struct sigaction saved1 {}, saved2 {};
    REQUIRE(::sigaction(SIGUSR1, &sa, &saved1) == 0);
    REQUIRE(::sigaction(SIGUSR2, &sa, &saved2) == 0);
    ours = 0;
    before = 0;
    {
        capture::scoped_signals scope({SIGUSR1, SIGUSR2}, on_ours);
        ::raise(SIGUSR1);
        ::raise(SIGUSR2);
        CHECK(ours == 2);
        CHECK(before == 0);
    }
    ::raise(SIGUSR1);
    ::raise(SIGUSR2);
    CHECK(ours == 2);
    CHECK(before == 2);
    ::sigaction(SIGUSR1, &saved1, nullptr);
    ::sigaction(SIGUSR2, &saved2, nullptr);
}

TEST_CASE("scoped_signals: nested scopes unwind in order") {
    ours = 0;
    before = 0;
    capture::scoped_signals outer({SIGUSR1}, on_before);
    {
        capture::scoped_signals inner({SIGUSR1}, on_ours);
        ::raise(SIGUSR1);
    }
    ::raise(SIGUSR1);
    CHECK(ours == 1);
    CHECK(before == 1);
}
