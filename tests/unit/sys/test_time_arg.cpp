// Times, durations and sizes as people type them.
#include "capture/sys/time_arg.hpp"

#include <catch2/catch.hpp>

TEST_CASE("durations") {
    CHECK(capture::parse_duration("90", "x") == 90);
    CHECK(capture::parse_duration("90s", "x") == 90);
    CHECK(capture::parse_duration("30m", "x") == 1800);
    CHECK(capture::parse_duration("2h", "x") == 7200);
    CHECK(capture::parse_duration("1d", "x") == 86400);
    CHECK(capture::parse_duration("1h30m", "x") == 5400);
    CHECK(capture::parse_duration("0", "x") == 0);
    CHECK_THROWS_WITH(capture::parse_duration("soon", "--duration"), Catch::StartsWith("--duration: 'soon'"));
    CHECK_THROWS_AS(capture::parse_duration("", "x"), capture::usage_error);
    CHECK_THROWS_AS(capture::parse_duration("1h30", "x"), capture::usage_error);
    CHECK_THROWS_AS(capture::parse_duration("99999999999999999999", "x"), capture::usage_error);
    // Terms each in range whose sum is not (found by fuzz_time_arg: "-2h" style
    // times then took it from now, a signed overflow).
    CHECK_THROWS_AS(capture::parse_duration("4611686018427387903s4611686018427387903s10s", "x"), capture::usage_error);
    CHECK_THROWS_AS(capture::parse_time_arg("-4611686018427387903s4611686018427387903s10s", "x", 1764100000),
                    capture::usage_error);
    CHECK(capture::parse_duration("2w1d1h1m1s", "x") == 15 * 86400 + 3661);
}

TEST_CASE("sizes") {
    CHECK(capture::parse_size("300", "x") == 300);
    CHECK(capture::parse_size("500K", "x") == 500 * 1024);
    CHECK(capture::parse_size("100M", "x") == 100ull << 20);
    CHECK(capture::parse_size("2G", "x") == 2ull << 30);
    CHECK(capture::parse_size("2GiB", "x") == 2ull << 30);
    CHECK(capture::parse_size("1mb", "x") == 1ull << 20);
    CHECK_THROWS_AS(capture::parse_size("big", "x"), capture::usage_error);
    CHECK_THROWS_AS(capture::parse_size("1X", "x"), capture::usage_error);
    CHECK_THROWS_AS(capture::parse_size("99999999999T", "x"), capture::usage_error);
}

TEST_CASE("points in time") {
    const std::int64_t now = 1767225600 + 15 * 3600;  // 2026-01-01T15:00:00Z
    CHECK(capture::parse_time_arg("now", "x", now) == now);
    CHECK(capture::parse_time_arg("-2h", "x", now) == now - 7200);
    CHECK(capture::parse_time_arg("@1700000000", "x", now) == 1700000000);
    CHECK(capture::parse_time_arg("2026-01-01T08:00:00Z", "x", now) == 1767225600 + 8 * 3600);
    CHECK(capture::parse_time_arg("yesterday", "x", now) < capture::parse_time_arg("today", "x", now));
    CHECK(capture::parse_time_arg("today", "x", now) - capture::parse_time_arg("yesterday", "x", now) >= 23 * 3600);
    CHECK(capture::parse_time_arg("today", "x", now) <= now);
    CHECK_NOTHROW(capture::parse_time_arg("2026-11-25", "x", now));
    CHECK_NOTHROW(capture::parse_time_arg("2026-11-25 10:00", "x", now));
    CHECK_THROWS_WITH(capture::parse_time_arg("last tuesday", "--since", now), Catch::StartsWith("--since: 'last tuesday'"));
    CHECK_THROWS_AS(capture::parse_time_arg("@12x", "x", now), capture::usage_error);
}

TEST_CASE("record times") {
    CHECK(capture::parse_iso8601("2009-02-17T20:20:22Z") == 1234902022);
    CHECK(capture::parse_iso8601("2009-02-17T20:20:22.123456Z") == 1234902022);
    CHECK(capture::parse_iso8601("garbage", -1) == -1);
}
