// cap-info's figures: capinfos's rules (earliest/latest, wire lengths,
// strict order), the record keys, the person's block, and files cut short.
#include "capture/engine/info.hpp"
#include "capture/text/output.hpp"

#include <catch2/catch.hpp>

#include <boost/filesystem/operations.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct pcap_packet {
    std::uint32_t sec, usec, caplen, len;
};

void put32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// A little-endian microsecond pcap file; the bytes of each packet are zeros.
std::string make_pcap(const std::vector<pcap_packet>& packets, std::uint32_t linktype = 1) {
    std::string out;
    put32(out, 0xa1b2c3d4);
    out += std::string("\x02\x00\x04\x00", 4);
    put32(out, 0);
    put32(out, 0);
    put32(out, 65535);
    put32(out, linktype);
    for (const auto& p : packets) {
        put32(out, p.sec);
        put32(out, p.usec);
        put32(out, p.caplen);
        put32(out, p.len);
        out.append(p.caplen, '\0');
    }
    return out;
}

struct temp_file {
    std::string path;
    explicit temp_file(const std::string& bytes) {
        path = (boost::filesystem::temp_directory_path() / boost::filesystem::unique_path("capture-info-%%%%%%.pcap"))
                   .string();
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~temp_file() { boost::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("earliest and latest, wire lengths and time order, as capinfos counts them") {
    temp_file f(make_pcap({{100, 500000, 60, 1514}, {99, 250000, 60, 60}, {102, 0, 40, 40}}));
    capture::capture_summary s = capture::summarize_capture(f.path);
    CHECK(s.packets == 3);
    CHECK(s.data_bytes == 1514 + 60 + 40);  // on the wire, not captured
    REQUIRE(s.first);
    REQUIRE(s.last);
    CHECK(*s.first == capture::timestamp{99, 250000000});
    CHECK(*s.last == capture::timestamp{102, 0});
    CHECK_FALSE(s.strict_time_order);
    CHECK(s.error.empty());

    capture::record r = capture::summary_record(s, capture::record{{"id", "x"}, {"colour", "blue"}});
    CHECK(r.get("first") == "1970-01-01T00:01:39.250000Z");
    CHECK(r.get("last") == "1970-01-01T00:01:42.000000Z");
    CHECK(r.get("duration") == "2.750000");
    CHECK(r.get("bytes_per_s") == "586.91");  // 1614 bytes in 2.75 s
    CHECK(r.get("avg_packet") == "538.00");
    CHECK(r.get("strict_order") == "no");
    CHECK(r.get("linktype") == "EN10MB");
    CHECK(r.get("precision") == "us");
    // The incoming record comes first, unchanged; the file key joins it.
    CHECK(capture::format_record(r).rfind("id=x\tfile=" + f.path + "\tcolour=blue\tformat=pcap", 0) == 0);
}

TEST_CASE("the SunATM pseudo-header is not traffic") {
    temp_file f(make_pcap({{1, 0, 20, 20}, {2, 0, 3, 3}}, 123));
    CHECK(capture::summarize_capture(f.path).data_bytes == 16);
}

TEST_CASE("an empty capture has no times and no rates") {
    temp_file f(make_pcap({}));
    capture::capture_summary s = capture::summarize_capture(f.path);
    CHECK(s.packets == 0);
    capture::record r = capture::summary_record(s, {});
    CHECK_FALSE(r.has("first"));
    CHECK_FALSE(r.has("bytes_per_s"));
    CHECK_FALSE(r.has("avg_packet"));
    CHECK(r.get("packets") == "0");
}

TEST_CASE("a file cut short is summed up to its last whole packet, with the reason") {
    std::string bytes = make_pcap({{1, 0, 100, 100}, {2, 0, 100, 100}});
    temp_file f(bytes.substr(0, bytes.size() - 10));
    capture::capture_summary s = capture::summarize_capture(f.path);
    CHECK(s.packets == 1);
    CHECK_THAT(s.error, Catch::Contains("truncated"));
    CHECK(capture::summary_record(s, {}).has("error"));
}

TEST_CASE("a file that is not a capture is an error naming it") {
    temp_file f("hello, I am text\n");
    CHECK_THROWS_WITH(capture::summarize_capture(f.path), Catch::StartsWith(f.path + ": not a pcap or pcapng file"));
}

TEST_CASE("the person's block") {
    temp_file f(make_pcap({{1234902022, 0, 60, 60}, {1234902032, 0, 60, 60}}));
    std::ostringstream out;
    capture::write_summary_human(out, capture::summarize_capture(f.path), capture::record{{"sha256", "ab12"}});
    std::string block = out.str();
    CHECK(block.rfind("Capture file info:\n", 0) == 0);
    CHECK_THAT(block, Catch::Contains("  Packets:             2\n"));
    CHECK_THAT(block, Catch::Contains("Link type:           EN10MB (Ethernet), snaplen 65535"));
    CHECK_THAT(block, Catch::Contains("(2009-02-17T20:20:22.000000Z)"));
    CHECK_THAT(block, Catch::Contains("Data rate:           12 bytes/s (96 bit/s)"));
    CHECK_THAT(block, Catch::Contains("  sha256:              ab12\n"));
}

TEST_CASE("output mode: --json, then --records/--human, then the terminal decides") {
    using capture::output_mode;
    CHECK(capture::choose_output_mode(false, false, false, true) == output_mode::human);
    CHECK(capture::choose_output_mode(false, false, false, false) == output_mode::records);
    CHECK(capture::choose_output_mode(false, true, false, true) == output_mode::records);
    CHECK(capture::choose_output_mode(false, false, true, false) == output_mode::human);
    CHECK(capture::choose_output_mode(true, false, true, true) == output_mode::json);
    std::ostringstream out;
    capture::write_record(out, capture::record{{"file", "a"}}, output_mode::json);
    capture::write_record(out, capture::record{{"file", "a"}}, output_mode::records);
    CHECK(out.str() == "{\"file\":\"a\"}\nfile=a\n");
}
