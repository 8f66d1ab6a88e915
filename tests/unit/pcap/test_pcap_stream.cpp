// pcap_stream.hpp: a pcap or pcapng stream parsed as it arrives, in pieces
// of any size (one byte at a time too), the same packets as capture_reader
// reads from the whole; both byte orders and precisions; pcapng's
// interfaces of several link types and clocks; a buffer full of records
// refuses more; a record larger than the buffer grows it; a stream cut
// inside a record, garbage, and pcapng it cannot merge as it comes (a
// second section, a late interface, simple packet blocks) refused.
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

// A pcapng file of n packets over two interfaces of other link types and
// clocks (Ethernet in microseconds, raw IP in nanoseconds).
std::string make_pcapng(const temp_dir& dir, int n) {
    writer_options o;
    o.format = output_format::pcapng;
    o.nanoseconds = true;
    const std::string path = dir.path + "/in.pcapng";
    capture_writer w = capture_writer::to_file(path, o);
    const std::uint32_t eth = w.add_named_interface(1, 0, "s1");
    const std::uint32_t raw = w.add_named_interface(101, 9000, "s1");
    std::vector<std::uint8_t> data(2000, 0);
    for (int i = 0; i < n; ++i) {
        data[0] = static_cast<std::uint8_t>(i);
        const std::uint32_t len = static_cast<std::uint32_t>(40 + i % 1500);
        w.write(timestamp{1700000000 + i / 3, static_cast<std::uint32_t>(i * 7919u % 1000000000u)}, data.data(), len,
                len + 4, i % 3 == 1 ? raw : eth);
    }
    w.commit();
    return slurp(path);
}

struct seen {
    std::int64_t sec;
    std::uint32_t nsec, caplen, origlen;
    std::uint8_t first;
    std::uint32_t iface;
    bool operator==(const seen& o) const {
        return sec == o.sec && nsec == o.nsec && caplen == o.caplen && origlen == o.origlen && first == o.first &&
               iface == o.iface;
    }
};

std::vector<seen> by_reader(const std::string& bytes) {
    capture_reader r(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "whole");
    std::vector<seen> out;
    packet_view p;
    while (r.next(p)) out.push_back({p.ts.sec, p.ts.nsec, p.caplen, p.origlen, p.data[0], p.interface});
    return out;
}

// pcapng blocks made by hand, in either byte order.
struct blocks {
    bool big_endian = false;
    std::string bytes;

    std::string n16(std::uint16_t v) const {
        std::string b(2, '\0');
        for (int i = 0; i < 2; ++i) b[static_cast<std::size_t>(big_endian ? 1 - i : i)] = static_cast<char>(v >> (8 * i));
        return b;
    }
    std::string n32(std::uint32_t v) const {
        std::string b(4, '\0');
        for (int i = 0; i < 4; ++i) b[static_cast<std::size_t>(big_endian ? 3 - i : i)] = static_cast<char>(v >> (8 * i));
        return b;
    }
    blocks& block(std::uint32_t type, std::string body) {
        while (body.size() % 4) body.push_back('\0');
        const auto len = static_cast<std::uint32_t>(body.size() + 12);
        bytes += n32(type) + n32(len) + body + n32(len);
        return *this;
    }
    blocks& shb() { return block(0x0a0d0d0a, n32(0x1a2b3c4d) + n16(1) + n16(0) + std::string(8, '\xff')); }
    blocks& idb(std::uint16_t linktype, std::uint8_t tsresol = 6) {
        return block(1, n16(linktype) + n16(0) + n32(0) + n16(9) + n16(1) + std::string(1, static_cast<char>(tsresol)) +
                            std::string(3, '\0') + n16(0) + n16(0));
    }
    blocks& epb(std::uint32_t iface, std::uint64_t t, std::string data) {
        const auto caplen = static_cast<std::uint32_t>(data.size());
        return block(6, n32(iface) + n32(static_cast<std::uint32_t>(t >> 32)) + n32(static_cast<std::uint32_t>(t)) +
                            n32(caplen) + n32(caplen + 10) + data);
    }
};

// Feeds bytes in pieces of step, taking every packet as soon as it is whole.
std::vector<seen> by_stream(const std::string& bytes, std::size_t step, std::size_t capacity = pcap_stream_buffer_bytes) {
    pcap_stream s("test", capacity);
    std::vector<seen> out;
    std::size_t at = 0;
    for (;;) {
        while (s.next()) {
            const packet_view p = s.packet();
            out.push_back({p.ts.sec, p.ts.nsec, p.caplen, p.origlen, p.data[0], p.interface});
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
        CHECK_THROWS_WITH(s.next(), Catch::Contains("bad byte-order magic"));
        CHECK_THROWS_AS(s.next(), format_error);  // again at every call
    }
    {
        pcap_stream s("junk");
        feed(s, std::string(32, 'x'));
        CHECK_THROWS_WITH(s.next(), Catch::Contains("not a pcap or pcapng stream"));
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

TEST_CASE("pcap_stream: pcapng, its interfaces and clocks, however the bytes arrive") {
    temp_dir dir;
    const std::string bytes = make_pcapng(dir, 300);
    const auto expected = by_reader(bytes);
    REQUIRE(expected.size() == 300);
    for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{1} << 20})
        CHECK(by_stream(bytes, step) == expected);
    CHECK(by_stream(bytes, 65536, 4096) == expected);
    // The header is read once the first packet's block begins.
    pcap_stream s("ng");
    std::size_t first_packet = 0;  // walked block by block (this host's byte order, as written)
    for (std::uint32_t type = 0; type != 6;) {
        std::uint32_t len;
        std::memcpy(&type, bytes.data() + first_packet, 4);
        std::memcpy(&len, bytes.data() + first_packet + 4, 4);
        if (type != 6) first_packet += len;
        REQUIRE(first_packet < bytes.size());
    }
    auto [where, room] = s.space();
    std::memcpy(where, bytes.data(), first_packet);
    s.added(first_packet);
    CHECK_FALSE(s.read_header());
    std::tie(where, room) = s.space();
    std::memcpy(where, bytes.data() + first_packet, 8);
    s.added(8);
    REQUIRE(s.read_header());
    CHECK(s.pcapng());
    REQUIRE(s.interfaces().size() == 2);
    CHECK(s.interfaces()[0].linktype == 1);
    CHECK(s.interfaces()[1].linktype == 101);
    CHECK(s.interfaces()[1].snaplen == 9000);
    CHECK(s.interfaces()[1].name == "s1");
    CHECK(s.nanoseconds());
}

TEST_CASE("pcap_stream: big-endian pcapng, the obsolete packet block, blocks that hold no packet") {
    blocks b;
    b.big_endian = true;
    b.shb().idb(1, 9).block(4, std::string(8, '\0'));  // a name resolution block, skipped
    b.epb(0, 1700000000123456789ull, "\xaa\xbb\xcc");
    b.block(5, std::string(12, '\0'));  // an interface statistics block, skipped
    b.block(2, b.n16(0) + b.n16(0) + b.n32(0) + b.n32(1000000) + b.n32(2) + b.n32(4) + "\x11\x22");
    pcap_stream s("be");
    auto [where, room] = s.space();
    std::memcpy(where, b.bytes.data(), b.bytes.size());
    s.added(b.bytes.size());
    REQUIRE(s.next());
    packet_view p = s.packet();
    CHECK(p.ts.sec == 1700000000);
    CHECK(p.ts.nsec == 123456789);
    CHECK(p.caplen == 3);
    CHECK(p.origlen == 13);
    CHECK(p.data[0] == 0xaa);
    REQUIRE(s.next());
    p = s.packet();
    CHECK(p.ts.sec == 0);
    CHECK(p.ts.nsec == 1000000);  // 10^6 units of 10^-9 s
    CHECK(p.caplen == 2);
    CHECK(p.data[1] == 0x22);
    CHECK_FALSE(s.next());
    CHECK_NOTHROW(s.finish());
}

TEST_CASE("pcap_stream: pcapng that cannot be merged as it comes, or is broken, is refused") {
    auto refused = [](const blocks& b, const std::string& why) {
        pcap_stream s("ng");
        auto [where, room] = s.space();
        REQUIRE(room >= b.bytes.size());
        std::memcpy(where, b.bytes.data(), b.bytes.size());
        s.added(b.bytes.size());
        std::string said;
        try {
            while (s.next()) {
            }
            s.finish();
        } catch (const format_error& e) {
            said = e.what();
        }
        CHECK_THAT(said, Catch::Contains(why));
    };
    blocks ok;
    ok.shb().idb(1).epb(0, 1, "x");
    refused(blocks(ok).block(1, std::string(20, '\0')), "after packets");
    refused(blocks(ok).shb(), "a second section");
    refused(blocks(ok).block(3, ok.n32(1) + "x"), "simple packet block");
    refused(blocks(ok).epb(1, 2, "y"), "interface 1 of 1");
    {
        blocks b;
        b.shb().epb(0, 1, "x");
        refused(b, "before any interface");
    }
    {
        blocks b(ok);
        b.bytes += b.n32(6) + b.n32(1u << 30);
        refused(b, "more than its interfaces' packets need");
    }
    {
        blocks b(ok);
        b.epb(0, 2, "yy");
        b.bytes[b.bytes.size() - 1] ^= 1;  // the trailer
        refused(b, "in trailer differ");
    }
    {
        blocks b(ok);
        b.epb(0, 2, "yy");
        b.bytes.resize(b.bytes.size() - 5);
        refused(b, "ng ended inside a block");
    }
    {
        // Interfaces and no packet: a whole stream with nothing to merge.
        blocks b;
        b.shb().idb(1);
        pcap_stream s("none");
        auto [where, room] = s.space();
        std::memcpy(where, b.bytes.data(), b.bytes.size());
        s.added(b.bytes.size());
        CHECK_FALSE(s.next());
        CHECK_FALSE(s.has_header());
        CHECK_NOTHROW(s.finish());
    }
}
