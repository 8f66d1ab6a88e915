// cap-start's pure parts: descriptions made from expressions.
#include "capture/tool/start_tool.hpp"

#include <catch2/catch.hpp>

TEST_CASE("a description made from the expression is readable") {
    CHECK(capture::description_from_expression("udp and dst port 53") == "traffic: udp and dst port 53");
    CHECK(capture::description_from_expression("  host\t10.0.0.1 \n") == "traffic: host 10.0.0.1");
    CHECK(capture::description_from_expression("") == "capture");
    CHECK(capture::description_from_expression(std::string(200, 'x')).size() == 9 + 60);
}

TEST_CASE("words are joined by single spaces") {
    CHECK(capture::join_words({"grant", "port", "6667"}, 1) == "port 6667");
    CHECK(capture::join_words({"grant"}, 1).empty());
}

TEST_CASE("a capture's duration: --duration, else the duration key, never beyond max-duration") {
    capture::settings s;  // duration 1d, no maximum
    std::string two_days = "2d", never = "0", hour = "1h";
    CHECK(capture::capture_duration_s(s, nullptr) == 86400);
    CHECK(capture::capture_duration_s(s, &two_days) == 2 * 86400);
    CHECK(capture::capture_duration_s(s, &never) == 0);

    s.max_duration = "2h";
    s.config_file = "/etc/capture.conf";
    CHECK(capture::capture_duration_s(s, nullptr) == 7200);  // the default is cut to the maximum
    CHECK(capture::capture_duration_s(s, &hour) == 3600);
    CHECK_THROWS_WITH(capture::capture_duration_s(s, &two_days),
                      "--duration: '2d' is beyond max-duration (2h, set in /etc/capture.conf)");
    CHECK_THROWS_AS(capture::capture_duration_s(s, &never), capture::usage_error);

    s.duration = "30m";
    CHECK(capture::capture_duration_s(s, nullptr) == 1800);
}

TEST_CASE("capture directories: searchable where files are readable; for root setgid and group-writable") {
    CHECK(capture::capture_dir_mode(0640, false) == 0750);
    CHECK(capture::capture_dir_mode(0640, true) == 02770);
    CHECK(capture::capture_dir_mode(0600, true) == 02770);
    CHECK(capture::capture_dir_mode(0644, true) == 02775);
}
