// Who captured what: sums per analyst, per day, per both; the table and the records.
#include "capture/text/activity_report.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

using capture::activity_entry;
using capture::report_by;

namespace {

// Local days, as cap-ls reports them: the tests pin the zone.
struct utc_zone {
    utc_zone() {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
};

std::vector<activity_entry> sample() {
    const std::int64_t day1 = 1700000000 - 1700000000 % 86400 + 3600, day2 = day1 + 86400;
    return {
        {"grant", "live", day1, day1 + 60, 1000, 10},
        {"grant", "pull", day1 + 100, day1 + 110, 500, 5},
        {"alice", "pull", day1 + 200, day1 + 230, 200, 2},
        {"grant", "live", day2, day2 + 3600, 7000, 70},
        {"grant", "live", day2 + 10, day2, 1, 1},  // ended before it started (a clock step): no time
    };
}

}  // namespace

TEST_CASE("--by values") {
    CHECK(capture::parse_report_by("analyst") == report_by::analyst);
    CHECK(capture::parse_report_by("day") == report_by::day);
    CHECK(capture::parse_report_by("analyst,day") == report_by::analyst_day);
    CHECK(capture::parse_report_by("day,analyst") == report_by::analyst_day);
    CHECK_THROWS_AS(capture::parse_report_by("week"), capture::usage_error);
}

TEST_CASE("sums per analyst and day, per analyst, per day") {
    utc_zone zone;
    auto rows = capture::sum_activity(sample(), report_by::analyst_day);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].day == "2023-11-14");
    CHECK(rows[0].analyst == "alice");
    CHECK(rows[1].analyst == "grant");
    CHECK(rows[1].captures == 2);
    CHECK(rows[1].pulls == 1);
    CHECK(rows[1].bytes == 1500);
    CHECK(rows[1].packets == 15);
    CHECK(rows[1].seconds == 70);
    CHECK(rows[2].day == "2023-11-15");
    CHECK(rows[2].seconds == 3600);

    rows = capture::sum_activity(sample(), report_by::analyst);
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].analyst == "grant");
    CHECK(rows[1].day.empty());
    CHECK(rows[1].captures == 4);
    CHECK(rows[1].bytes == 8501);

    rows = capture::sum_activity(sample(), report_by::day);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].analyst.empty());
    CHECK(rows[0].captures == 3);
    CHECK(rows[0].pulls == 2);
}

TEST_CASE("records in a pipe, a table for a person") {
    utc_zone zone;
    std::ostringstream out;
    auto rows = capture::sum_activity(sample(), report_by::analyst);
    capture::write_activity_report(out, rows, report_by::analyst, capture::output_mode::records);
    CHECK(out.str() == "analyst=alice\tcaptures=1\tbytes=200\tseconds=30\tpulls=1\tpackets=2\n"
                       "analyst=grant\tcaptures=4\tbytes=8501\tseconds=3670\tpulls=1\tpackets=86\n");
    std::ostringstream table;
    rows = capture::sum_activity(sample(), report_by::analyst_day);
    capture::write_activity_report(table, rows, report_by::analyst_day, capture::output_mode::human);
    std::string t = table.str();
    CHECK(t.rfind("Day         Analyst          Captures  Size          Time          Pulls  Packets\n", 0) == 0);
    CHECK(t.find("\n2023-11-14  grant                   2  1.5 KiB") != std::string::npos);
    std::ostringstream none;
    capture::write_activity_report(none, {}, report_by::day, capture::output_mode::human);
    CHECK(none.str().empty());
}
