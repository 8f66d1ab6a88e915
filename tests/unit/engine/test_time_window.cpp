// time_window.hpp: every form of --since/--until against a fixed now.
#include "capture/engine/time_window.hpp"

#include <catch2/catch.hpp>

using namespace capture;

namespace {
const std::int64_t now = 1700000000;  // 2023-11-14T22:13:20Z
std::int64_t at(const char* text) { return parse_time_point(text, "--since", now).sec; }
}  // namespace

TEST_CASE("ISO 8601 is UTC, with or without Z; offsets are honoured") {
    CHECK(at("2023-11-14T22:13:20Z") == 1700000000);
    CHECK(at("2023-11-14T22:13:20") == 1700000000);
    CHECK(at("2023-11-14 22:13:20") == 1700000000);
    CHECK(at("2023-11-14T22:13") == 1700000000 - 20);
    CHECK(at("2023-11-14") == 1699920000);
    CHECK(at("2023-11-14T23:13:20+01:00") == 1700000000);
    CHECK(at("2023-11-14T21:13:20-0100") == 1700000000);
    timestamp frac = parse_time_point("2023-11-14T22:13:20.25Z", "--since", now);
    CHECK(frac.sec == 1700000000);
    CHECK(frac.nsec == 250000000);
}

TEST_CASE("epochs, relative times and named days") {
    CHECK(at("@1700000000") == 1700000000);
    CHECK(parse_time_point("@1700000000.000001", "--since", now).nsec == 1000);
    CHECK(at("now") == now);
    CHECK(at("-2h") == now - 7200);
    CHECK(at("-30m") == now - 1800);
    CHECK(at("-1d") == now - 86400);
    CHECK(at("-1h30m") == now - 5400);
    CHECK(at("today") == 1699920000);
    CHECK(at("yesterday") == 1699920000 - 86400);
}

TEST_CASE("anything else is refused, naming the option") {
    for (const char* bad : {"", "2023-13-01", "2023-02-30", "2023-11-14T25:00", "@", "@12x", "-2x", "soon",
                            "2023-11-14T22:13:20Q", "2023-11-14T22:13:20."}) {
        INFO(bad);
        CHECK_THROWS_WITH(parse_time_point(bad, "--until", now), Catch::StartsWith("--until: '"));
    }
}

TEST_CASE("a window is half open and must not be empty") {
    time_window w = make_time_window("@100", "@200", now);
    CHECK(w.contains({100, 0}));
    CHECK(w.contains({199, 999999999}));
    CHECK_FALSE(w.contains({200, 0}));
    CHECK_FALSE(w.contains({99, 999999999}));
    CHECK(w.until_second() == 200);
    CHECK(make_time_window("", "@200.5", now).until_second() == 201);
    time_window open = make_time_window("", "", now);
    CHECK(open.contains({0, 0}));
    CHECK_FALSE(open.has_since);
    CHECK_THROWS_AS(make_time_window("@200", "@200", now), usage_error);
    CHECK_THROWS_WITH(make_time_window("@300", "@200", now), Catch::Contains("is not after --since"));
}
