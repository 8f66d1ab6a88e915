// Capture file names: the original convention, and safe whatever is typed.
#include "capture/naming.hpp"

#include <catch2/catch.hpp>

#include <cctype>

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

TEST_CASE("names have a bounded length") {
    std::string long_text(10000, 'a');
    std::string name = capture::capture_file_name(long_text, long_text, 4102444800LL);
    CHECK(name.size() <= capture::max_analyst_part + capture::max_description_part + 60);
    CHECK(capture::name_part(std::string(200, 'b') + "!c", 10, "x") == "bbbbbbbbbb");
}
