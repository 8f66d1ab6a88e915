// pcap_stream.hpp: a pcap stream parsed as it arrives, in pieces of any
// size (one byte at a time too), the same packets as capture_reader reads
// from the whole; both byte orders and precisions; a buffer full of
// records refuses more; a record larger than the buffer grows it; a
// stream cut inside a record, a pcapng stream and garbage refused.
#include "capture/pcap/pcap_stream.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/pcap/capture_writer.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <string>
#include <vector>

using namespace capture;

namespace {

using test_support::temp_dir;

using test_support::slurp;

// A pcap file of n packets of growing size, as our writer writes it.
std::string make_capture(const temp_dir& dir, int n, bool ns, std::uint32_t big = 0) {
    writer_options o;
    o.nanoseconds = ns;
    const std::string path = dir.path + "/in.pcap";
    capture_writer w = capture_writer::to_file(path, o);
    w.add_interface(1, 0);
    std::vector<std::uint8_t> data(std::max<std::uint32_t>(big, 2000), 0);
    for (int i = 0; i < n; ++i) {
        data[0] = static_cast<std::uint8_t>(i);
        const std::uint32_t len = big && i == n / 2 ? big : static_cast<std::uint32_t>(40 + i % 1500);
        w.write(timestamp{1700000000 + i, static_cast<std::uint32_t>(i * 1001u % 1000000000u)}, data.data(), len,
                len + 4);
    }
    w.commit();
    return slurp(path);
}

struct seen {
    std::int64_t sec;
    std::uint32_t nsec, caplen, origlen;
    std::uint8_t first;
    bool operator==(const seen& o) const {
        return sec == o.sec && nsec == o.nsec && caplen == o.caplen && origlen == o.origlen && first == o.first;
    }
};

std::vector<seen> by_reader(const std::string& bytes) {
    capture_reader r(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "whole");
    std::vector<seen> out;
    packet_view p;
    while (r.next(p)) out.push_back({p.ts.sec, p.ts.nsec, p.caplen, p.origlen, p.data[0]});
    return out;
}

// Feeds bytes in pieces of step, taking every packet as soon as it is whole.
std::vector<seen> by_stream(const std::string& bytes, std::size_t step, std::size_t capacity = pcap_stream_buffer_bytes) {
    pcap_stream s("test", capacity);
    std::vector<seen> out;
    std::size_t at = 0;
    for (;;) {
        while (s.next()) {
            const packet_view p = s.packet();
            out.push_back({p.ts.sec, p.ts.nsec, p.caplen, p.origlen, p.data[0]});
        }
        if (at == bytes.size()) break;
        auto [where, room] = s.space();
        REQUIRE(room > 0);
        const std::size_t n = std::min({room, step, bytes.size() - at});
        std::memcpy(where, bytes.data() + at, n);
        s.added(n);
        at += n;
    }
    s.finish();
    return out;
}

}  // namespace

TEST_CASE("pcap_stream: the packets of the whole, however the bytes arrive") {
    temp_dir dir;
    for (bool ns : {false, true}) {
        const std::string bytes = make_capture(dir, 300, ns);
        const auto expected = by_reader(bytes);
        REQUIRE(expected.size() == 300);
        for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{1} << 20})
            CHECK(by_stream(bytes, step) == expected);
        pcap_stream s("x");
        auto [where, room] = s.space();
        std::memcpy(where, bytes.data(), 24);
        s.added(24);
        CHECK(s.read_header());
        CHECK(s.nanoseconds() == ns);
        CHECK(s.interface().linktype == 1);
    }
}

TEST_CASE("pcap_stream: a small buffer holds back the sender, a record larger than it grows it") {
    temp_dir dir;
    const std::string bytes = make_capture(dir, 50, false, 100000);
    CHECK(by_stream(bytes, 65536, 4096) == by_reader(bytes));
    // Full of whole records: no room until one is consumed.
    pcap_stream s("x", 4096);
    std::size_t at = 0;
    for (;;) {
        auto [where, room] = s.space();
        if (room == 0) break;
        const std::size_t n = std::min(room, bytes.size() - at);
        std::memcpy(where, bytes.data() + at, n);
        s.added(n);
        at += n;
    }
    CHECK(at == 4096);
    REQUIRE(s.next());
    CHECK(s.space().second > 0);
}

TEST_CASE("pcap_stream: the other byte order") {
    // A big-endian header and one record of 4 bytes.
    const std::uint8_t raw[] = {0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
                                0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0, 9, 0xaa, 0xbb, 0xcc, 0xdd};
    pcap_stream s("be");
    auto [where, room] = s.space();
    std::memcpy(where, raw, sizeof raw);
    s.added(sizeof raw);
    REQUIRE(s.next());
    const packet_view p = s.packet();
    CHECK(p.ts.sec == 0x6553f100);
    CHECK(p.ts.nsec == 5000);
    CHECK(p.caplen == 4);
    CHECK(p.origlen == 9);
    CHECK(p.data[0] == 0xaa);
    CHECK_FALSE(s.next());
    CHECK_NOTHROW(s.finish());
}

TEST_CASE("pcap_stream: cut short, pcapng, garbage and lengths out of bounds are refused") {
    temp_dir dir;
    const std::string bytes = make_capture(dir, 10, false);
    auto feed = [](pcap_stream& s, const std::string& b) {
        auto [where, room] = s.space();
        REQUIRE(room >= b.size());
        std::memcpy(where, b.data(), b.size());
        s.added(b.size());
    };
    {
        pcap_stream s("cut");
        feed(s, bytes.substr(0, bytes.size() - 3));
        while (s.next()) {
        }
        CHECK_THROWS_WITH(s.finish(), Catch::Contains("cut ended inside a packet record"));
    }
    {
        pcap_stream s("none");
        CHECK_THROWS_WITH(s.finish(), Catch::Contains("ended before its pcap header"));
    }
    {
        pcap_stream s("ng");
        feed(s, std::string("\x0a\x0d\x0d\x0a", 4) + std::string(28, '\0'));
        CHECK_THROWS_WITH(s.next(), Catch::Contains("pcapng"));
        CHECK_THROWS_AS(s.next(), format_error);  // again at every call
    }
    {
        pcap_stream s("junk");
        feed(s, std::string(32, 'x'));
        CHECK_THROWS_WITH(s.next(), Catch::Contains("not a pcap stream"));
    }
    {
        std::string huge = bytes.substr(0, 24);
        const std::uint32_t rec[4] = {1, 0, 262145, 262145};
        huge.append(reinterpret_cast<const char*>(rec), 16);
        pcap_stream s("huge");
        feed(s, huge);
        CHECK_THROWS_WITH(s.next(), Catch::Contains("bigger than maximum") && Catch::Contains("at byte 24"));
    }
}
