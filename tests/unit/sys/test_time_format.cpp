// Times for records, people and file names.
#include "capture/sys/time_format.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

TEST_CASE("ISO 8601 in UTC with the precision asked") {
    CHECK(capture::format_iso8601(1234902022) == "2009-02-17T20:20:22Z");
    CHECK(capture::format_iso8601(1234902022, 123456000, 6) == "2009-02-17T20:20:22.123456Z");
    CHECK(capture::format_iso8601(1234902022, 5, 9) == "2009-02-17T20:20:22.000000005Z");
    CHECK(capture::format_iso8601(0, 0, 3) == "1970-01-01T00:00:00.000Z");
    CHECK(capture::format_iso8601(4294967295LL) == "2106-02-07T06:28:15Z");
}

TEST_CASE("the file name stamp and the human form match the original tool") {
    CHECK(capture::format_name_stamp(1234902022) == "Tue.Feb17.2009-20.20.22.UTC");
    setenv("TZ", "America/Chicago", 1);
    tzset();
    CHECK(capture::format_human_time(1234902022) == "Tue Feb 17 14:20:22 2009");
    setenv("TZ", "UTC", 1);
    tzset();
    CHECK(capture::format_human_time(1234902022) == "Tue Feb 17 20:20:22 2009");
}

TEST_CASE("sizes and durations for people") {
    CHECK(capture::format_bytes_human(812) == "812 bytes");
    CHECK(capture::format_bytes_human(1536) == "1.5 KiB");
    CHECK(capture::format_bytes_human(5ull << 30) == "5.0 GiB");
    CHECK(capture::format_duration(12.5) == "12.500 s");
    CHECK(capture::format_duration(3725) == "1 h 02 min 05 s");
}
