// bpf.hpp: libpcap's compiler and bpf_filter on our bytes; libpcap's own
// words for a bad expression (what tcpdump says); the --vlan rewrite.
#include "capture/pcap/bpf.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

using namespace capture;

namespace {

// An Ethernet/IPv4/UDP frame from src to dst, optionally inside one 802.1Q tag.
std::vector<std::uint8_t> udp_frame(std::array<std::uint8_t, 4> src, std::array<std::uint8_t, 4> dst,
                                    bool tagged = false) {
    std::vector<std::uint8_t> f = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    if (tagged) f.insert(f.end(), {0x81, 0x00, 0x00, 0x64});
    f.insert(f.end(), {0x08, 0x00});
    std::vector<std::uint8_t> ip = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0};
    ip.insert(ip.end(), src.begin(), src.end());
    ip.insert(ip.end(), dst.begin(), dst.end());
    ip.insert(ip.end(), {0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0});
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

packet_view view_of(const std::vector<std::uint8_t>& f) {
    packet_view p;
    p.data = f.data();
    p.caplen = p.origlen = static_cast<std::uint32_t>(f.size());
    return p;
}

std::string tcpdump_says(const std::string& expression) {
    std::string cmd = "tcpdump -d -y EN10MB '" + expression + "' 2>&1 >/dev/null";
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[512];
        while (std::fgets(buf, sizeof buf, p)) out += buf;
        ::pclose(p);
    }
    return out;
}

}  // namespace

TEST_CASE("an expression runs on our bytes") {
    auto hit = udp_frame({10, 0, 0, 7}, {192, 0, 2, 1});
    auto miss = udp_frame({10, 0, 0, 8}, {192, 0, 2, 1});
    bpf_matcher m("host 10.0.0.7", 1);
    CHECK(m.matches(view_of(hit)));
    CHECK_FALSE(m.matches(view_of(miss)));
    CHECK(bpf_matcher("udp port 53", 1).matches(view_of(hit)));
    CHECK_FALSE(bpf_matcher("tcp", 1).matches(view_of(hit)));
    CHECK(bpf_matcher("", 1).matches(view_of(miss)));  // no expression: every packet
    // Even on a link type this libpcap cannot compile for, as tcpdump -r reads it.
    CHECK(bpf_matcher("", 65535).matches(view_of(miss)));
    CHECK(bpf_matcher(" ", 65535, 0xffffffffu).matches(view_of(miss)));
    CHECK_THROWS_AS(bpf_matcher("tcp", 65535), expression_error);

    SECTION("a packet cut short by the snaplen is judged on its bytes, as libpcap does") {
        packet_view cut = view_of(hit);
        cut.caplen = 20;  // the addresses are not there
        CHECK_FALSE(m.matches(cut));
    }
}

TEST_CASE("--vlan matches the tagged frames too") {
    auto tagged = udp_frame({10, 0, 0, 7}, {192, 0, 2, 1}, true);
    auto plain = udp_frame({10, 0, 0, 7}, {192, 0, 2, 1});
    CHECK_FALSE(bpf_matcher("host 10.0.0.7", 1).matches(view_of(tagged)));
    std::string both = vlan_expression("host 10.0.0.7");
    CHECK(both == "(host 10.0.0.7) or (vlan and (host 10.0.0.7))");
    CHECK(bpf_matcher(both, 1).matches(view_of(tagged)));
    CHECK(bpf_matcher(both, 1).matches(view_of(plain)));
    CHECK(vlan_expression("  ").empty() == false);
    CHECK(vlan_expression("") == "");
}

TEST_CASE("a bad expression is refused in libpcap's words, as tcpdump says them") {
    for (const char* bad : {"host 10.0.0.7 and", "port 99999", "ether host 1:2:3", "nosuchkeyword"}) {
        INFO(bad);
        std::string ours;
        try {
            bpf_matcher m(bad, 1);
        } catch (const expression_error& e) {
            ours = e.what();
        }
        REQUIRE_FALSE(ours.empty());
        std::string theirs = tcpdump_says(bad);
        if (!theirs.empty()) CHECK(theirs == "tcpdump: " + ours + "\n");
    }
    CHECK_THROWS_AS(bpf_matcher("ether host 1:2:3:4:5:6", 101), expression_error);  // no Ethernet in raw IP
    CHECK(bpf_matcher("host 10.0.0.7", 101).linktype() == 101);
}
