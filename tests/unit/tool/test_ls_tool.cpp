// cap-ls for people: the original one-line form and the verbose block.
#include "capture/tool/ls_tool.hpp"

#include <catch2/catch.hpp>

#include <sstream>

TEST_CASE("descriptions read as the original tool printed them") {
    CHECK(capture::readable_description("traffic to grantstavely.com") == "traffic to grantstavely com");
    CHECK(capture::readable_description("  irc -- traffic!! ") == "irc traffic");
    CHECK(capture::readable_description("") == "");
}

TEST_CASE("one line per capture: analyst, start, description, then state") {
    capture::listed_capture c;
    c.rec = capture::record{{"id", "abcdef"}, {"kind", "live"}, {"analyst", "grant"}, {"desc", "irc traffic"}};
    c.state = "running";
    c.started = 1234902022;
    c.ended = c.started;
    std::string running = capture::human_line(c);
    CHECK(running.rfind("grant ", 0) == 0);
    CHECK(running.size() > 30);
    CHECK(running.substr(running.size() - 12) == " irc traffic");
    c.stale = true;
    CHECK(capture::human_line(c).substr(capture::human_line(c).size() - 8) == " [stale]");
    c.stale = false;
    c.state = "stopped";
    c.rec.set("ended", "2009-02-17T21:20:22Z");
    CHECK(capture::human_line(c).find(" irc traffic [stopped ") != std::string::npos);
}

TEST_CASE("the verbose block has the original labels, and Progress for pulls") {
    capture::listed_capture c;
    c.rec = capture::record{{"id", "abcdef"}, {"kind", "pull"}, {"analyst", "grant"}, {"file", "/nonexistent.pcap"},
                            {"desc", "d"}, {"expr", "port 53"}, {"iface", "eth0"}, {"bytes", "2048"},
                            {"packets", "12"}, {"drops", "1"}, {"progress", "2009-02-17T20:00:00Z"}};
    c.state = "running";
    c.started = 1234902022;
    std::ostringstream out;
    capture::write_verbose_block(out, c);
    std::string text = out.str();
    for (const char* label : {"Analyst: grant", "Size (bytes): 2.0 KiB (2048)", "Started: ", "Description: d",
                              "Expression: port 53", "Capture File: /nonexistent.pcap", "Interface: eth0",
                              "Packets: 12", "Dropped: 1", "Progress: 2009-02-17T20:00:00Z"})
        CHECK(text.find(label) != std::string::npos);
}

TEST_CASE("a row of the table: id first, then analyst, start, state, size, progress, description") {
    capture::listed_capture c;
    c.rec = capture::record{{"id", "p7m2ta"}, {"kind", "pull"}, {"analyst", "carol"}, {"file", "/nonexistent.pcap"},
                            {"desc", "pull host 10.0.0.7"}, {"bytes", "2048"}, {"read_bytes", "420"},
                            {"total_bytes", "1000"}, {"eta", "13"}};
    c.state = "running";
    c.started = 1234902022;
    auto row = capture::capture_table_row(c);
    REQUIRE(row.size() == capture::capture_table_header().size());
    CHECK(capture::capture_table_header().front() == "ID");
    CHECK(row[0] == "p7m2ta");
    CHECK(row[1] == "carol");
    CHECK(row[2] == capture::format_human_time(1234902022));
    CHECK(row[3] == "running");
    CHECK(row[4] == "2.0 KiB");
    CHECK(row[5] == "42% ETA 13s");
    CHECK(row[6] == "pull host 10 0 0 7");
    c.state = "interrupted";
    CHECK(capture::capture_table_row(c)[5] == "42%");
    c.rec.set("kind", "live");
    CHECK(capture::capture_table_row(c)[5] == "");
    c.stale = true;
    c.state = "running";
    CHECK(capture::capture_table_row(c)[3] == "running (stale)");
}
