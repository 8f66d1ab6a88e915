// Capture file names: the original convention, and safe whatever is typed.
#include "capture/text/naming.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <vector>

TEST_CASE("the original capture naming") {
    CHECK(capture::capture_file_name("grant", "traffic to grantstavely.com", 1234902022) ==
          "grant_traffic.to.grantstavely.com_Tue.Feb17.2009-20.20.22.UTC_1234902022_.pcap");
    CHECK(capture::capture_file_name("grant", "irc", 1234902022, capture::capture_kind::pull) ==
          "grant_irc_Tue.Feb17.2009-20.20.22.UTC_1234902022_.past.pcap");
    CHECK(capture::capture_file_name("grant", "irc", 1234902022, capture::capture_kind::merge, true) ==
          "grant_irc_Tue.Feb17.2009-20.20.22.UTC_1234902022_.merged.pcapng");
}

TEST_CASE("nothing typed can escape the directory or start an option") {
    for (const char* hostile : {"../../etc/passwd", "-rf /", "$(reboot)", "a\nb\tc", "`x`;|&>", "....", "",
                                "\xff\xfe caf\xC3\xA9", "--help"}) {
        std::string name = capture::capture_file_name(hostile, hostile, 0);
        INFO(name);
        CHECK(name.find('/') == std::string::npos);
        CHECK(name.front() != '-');
        CHECK(name.front() != '.');
        // Letters, digits, '.', '_' and the stamp's '-' only.
        for (char c : name) CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'));
    }
    CHECK(capture::capture_file_name("", "", 0) == "unknown_capture_Thu.Jan01.1970-00.00.00.UTC_0_.pcap");
    CHECK(capture::name_part("../../etc/passwd", 96, "x") == "etc.passwd");
}

TEST_CASE("any bytes at all make a safe name that fits, with its record and temporaries") {
    std::mt19937 rng(20261126);
    std::vector<std::string> inputs = {std::string(100000, 'd'), std::string(100000, '/'), "-", "--", ".", "..",
                                       std::string("\0-x", 3)};
    std::string every_byte;
    for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
    inputs.push_back(every_byte);
    for (int n = 0; n < 3000; ++n) {
        std::string s(rng() % 300, '\0');
        for (auto& c : s) c = static_cast<char>(rng() % 4 ? rng() % 256 : "-./_ \n"[rng() % 6]);
        inputs.push_back(s);
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const std::string& a = inputs[i];
        const std::string& d = inputs[(i * 7 + 3) % inputs.size()];
        for (auto kind : {capture::capture_kind::live, capture::capture_kind::pull, capture::capture_kind::merge}) {
            std::string name = capture::capture_file_name(a, d, 4102444800LL, kind, true);
            INFO(name);
            REQUIRE(!name.empty());
            REQUIRE(std::isalnum(static_cast<unsigned char>(name.front())));
            REQUIRE(std::all_of(name.begin(), name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
            }));
            // NAME_MAX is 255: the record (".record") and the hidden temporaries
            // beside it ("." NAME ".record." PID "." N ".tmp") must fit as well.
            REQUIRE(name.size() + std::string(".record").size() + 1 + 30 <= 255);
        }
    }
}

TEST_CASE("the nth name tried in one second numbers the description") {
    CHECK(capture::numbered_description("irc", 1) == "irc");
    CHECK(capture::numbered_description("irc", 2) == "irc 2");
    CHECK(capture::capture_file_name("grant", capture::numbered_description("irc", 3), 1234902022) ==
          "grant_irc.3_Tue.Feb17.2009-20.20.22.UTC_1234902022_.pcap");
}

TEST_CASE("names have a bounded length") {
    std::string long_text(10000, 'a');
    std::string name = capture::capture_file_name(long_text, long_text, 4102444800LL);
    CHECK(name.size() <= capture::max_analyst_part + capture::max_description_part + 60);
    CHECK(capture::name_part(std::string(200, 'b') + "!c", 10, "x") == "bbbbbbbbbb");
}
