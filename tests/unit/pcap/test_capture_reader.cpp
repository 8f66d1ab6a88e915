// capture_reader.hpp and linktype.hpp: captures assembled byte by byte in
// memory (both byte orders, us and ns, multi-section pcapng, every block
// kind, every cut point, lying lengths), then the whole tcpdump corpus
// against tcpdump's own packet counts.
#include "capture/pcap/capture_reader.hpp"
#include "capture/pcap/linktype.hpp"

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace capture;

namespace {

using bytes = std::vector<std::uint8_t>;

bool host_is_big() {
    const std::uint16_t one = 1;
    std::uint8_t first;
    std::memcpy(&first, &one, 1);
    return first == 0;
}

// Appends integers in a chosen byte order.
struct out {
    bytes b;
    bool big = false;

    out& u8(std::uint8_t v) {
        b.push_back(v);
        return *this;
    }
    out& u16(std::uint16_t v) {
        for (int i = 0; i < 2; ++i) u8(static_cast<std::uint8_t>(v >> (big ? 8 * (1 - i) : 8 * i)));
        return *this;
    }
    out& u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (big ? 8 * (3 - i) : 8 * i)));
        return *this;
    }
    out& u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (big ? 8 * (7 - i) : 8 * i)));
        return *this;
    }
    out& raw(const bytes& data) {
        b.insert(b.end(), data.begin(), data.end());
        return *this;
    }
    out& pad4() {
        while (b.size() % 4) b.push_back(0);
        return *this;
    }
};

bytes payload(std::size_t n, std::uint8_t seed) {
    bytes d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<std::uint8_t>(seed + i);
    return d;
}

struct pcap_record {
    std::uint32_t sec, frac;
    bytes data;
    std::uint32_t origlen;  // 0: the data's size
    std::uint32_t caplen_field = 0xffffffff;  // overrides the caplen written
};

bytes pcap_file(bool big, bool ns, std::uint32_t linktype, std::uint32_t snaplen,
                const std::vector<pcap_record>& records, std::uint16_t major = 2, std::uint16_t minor = 4) {
    out o;
    o.big = big;
    o.u32(ns ? 0xa1b23c4d : 0xa1b2c3d4).u16(major).u16(minor).u32(0).u32(0).u32(snaplen).u32(linktype);
    for (const auto& r : records) {
        std::uint32_t caplen = r.caplen_field != 0xffffffff ? r.caplen_field : static_cast<std::uint32_t>(r.data.size());
        o.u32(r.sec).u32(r.frac).u32(caplen).u32(r.origlen ? r.origlen : static_cast<std::uint32_t>(r.data.size()));
        o.raw(r.data);
    }
    return o.b;
}

// Assembles pcapng: each block is framed with its length and trailer in the
// byte order of the section being written.
struct pcapng {
    out o;

    struct option {
        std::uint16_t code;
        bytes value;
    };

    pcapng& block(std::uint32_t type, const bytes& body) {
        std::uint32_t len = static_cast<std::uint32_t>(12 + ((body.size() + 3) & ~std::size_t{3}));
        o.u32(type).u32(len).raw(body).pad4().u32(len);
        return *this;
    }
    out body() const {
        out b;
        b.big = o.big;
        return b;
    }
    static void options(out& b, const std::vector<option>& opts) {
        if (opts.empty()) return;
        for (const auto& op : opts) {
            b.u16(op.code).u16(static_cast<std::uint16_t>(op.value.size())).raw(op.value).pad4();
        }
        b.u16(0).u16(0);
    }
    pcapng& shb(bool big, std::uint16_t major = 1, std::uint16_t minor = 0) {
        o.big = big;
        out b = body();
        b.u32(0x1a2b3c4d).u16(major).u16(minor).u64(~std::uint64_t{0});
        options(b, {{4, {'u', 'n', 'i', 't'}}});  // shb_userappl
        return block(0x0a0d0d0a, b.b);
    }
    pcapng& idb(std::uint16_t linktype, std::uint32_t snaplen, const std::vector<option>& opts = {}) {
        out b = body();
        b.u16(linktype).u16(0).u32(snaplen);
        options(b, opts);
        return block(1, b.b);
    }
    pcapng& epb(std::uint32_t iface, std::uint64_t t, const bytes& data, std::uint32_t origlen = 0) {
        out b = body();
        b.u32(iface).u32(static_cast<std::uint32_t>(t >> 32)).u32(static_cast<std::uint32_t>(t));
        b.u32(static_cast<std::uint32_t>(data.size())).u32(origlen ? origlen : static_cast<std::uint32_t>(data.size()));
        b.raw(data).pad4();
        options(b, {{1, {'c', 'o', 'm', 'm', 'e', 'n', 't'}}});  // opt_comment
        return block(6, b.b);
    }
    pcapng& pb(std::uint16_t iface, std::uint64_t t, const bytes& data) {
        out b = body();
        b.u16(iface).u16(0).u32(static_cast<std::uint32_t>(t >> 32)).u32(static_cast<std::uint32_t>(t));
        b.u32(static_cast<std::uint32_t>(data.size())).u32(static_cast<std::uint32_t>(data.size())).raw(data);
        return block(2, b.b);
    }
    pcapng& spb(std::uint32_t origlen, const bytes& data) {
        out b = body();
        b.u32(origlen).raw(data);
        return block(3, b.b);
    }
    const bytes& data() const { return o.b; }
};

bytes u64_bytes(std::uint64_t v, bool big) {
    out o;
    o.big = big;
    o.u64(v);
    return o.b;
}

// The packets of a file, with a copy of the file they point into (moving
// a vector keeps its buffer, so the views stay valid).
struct read_result : std::vector<packet_view> {
    bytes file;
};

read_result read_all(const bytes& file, const std::string& name = "mem") {
    read_result packets;
    packets.file = file;
    capture_reader r(packets.file.data(), packets.file.size(), name);
    packet_view p;
    while (r.next(p)) packets.push_back(p);
    return packets;
}

std::string error_of(const bytes& file) {
    try {
        read_all(file, "F");
    } catch (const format_error& e) {
        return e.what();
    }
    return "(no error)";
}

bytes data_of(const packet_view& p) { return bytes(p.data, p.data + p.caplen); }

std::uint32_t get32(const bytes& b, std::size_t at, bool big) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{b[at + static_cast<std::size_t>(i)]} << (big ? 8 * (3 - i) : 8 * i);
    return v;
}

// Where each header, record or block of a well-formed file ends, found by a
// walk independent of the reader.
std::vector<std::uint64_t> structure(const bytes& file) {
    std::vector<std::uint64_t> ends;
    if (file[0] == 0x0a) {
        bool big = false;
        for (std::size_t at = 0; at < file.size();) {
            if (get32(file, at, false) == 0x0a0d0d0a) big = file[at + 8] == 0x1a;
            at += get32(file, at + 4, big);
            ends.push_back(at);
        }
    } else {
        bool big = file[0] == 0xa1;
        for (std::size_t at = 24;; at += 16 + get32(file, at + 8, big)) {
            ends.push_back(at);
            if (at == file.size()) break;
        }
    }
    return ends;
}

// Checks that every prefix of a valid file either ends cleanly at a record
// or block boundary with the packets before it, or yields the packets before
// the cut and then a format_error; never anything else.
void check_every_cut(const bytes& file) {
    std::vector<std::uint64_t> ends;  // where each packet's record or block ends
    const std::vector<std::uint64_t> boundaries = structure(file);
    {
        capture_reader r(file.data(), file.size(), "full");
        packet_view p;
        while (r.next(p)) ends.push_back(r.position());
    }
    REQUIRE(boundaries.back() == file.size());
    for (std::size_t n = 0; n <= file.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        std::size_t complete = 0;
        while (complete < ends.size() && ends[complete] <= n) ++complete;
        std::size_t got = 0;
        bool clean = false;
        std::string message;
        try {
            capture_reader r(file.data(), n, "cut");
            packet_view p;
            while (r.next(p)) {
                REQUIRE(p.offset + p.caplen <= n);
                ++got;
            }
            clean = true;
        } catch (const format_error& e) {
            message = e.what();
        }
        if (clean) {
            // A clean end only where a record or block ends (or after the header).
            CHECK(std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end());
            CHECK(got == complete);
        } else {
            CHECK(std::find(boundaries.begin(), boundaries.end(), n) == boundaries.end());
            CHECK(got == complete);
            CHECK(message.rfind("cut: ", 0) == 0);
        }
    }
}

}  // namespace

TEST_CASE("format names", "[capture_reader]") {
    CHECK(format_name(file_format::pcap) == "pcap");
    CHECK(format_name(file_format::pcap_ns) == "pcap-ns");
    CHECK(format_name(file_format::pcapng) == "pcapng");
    CHECK(format_description(file_format::pcapng) == "Wireshark/... - pcapng");
}

TEST_CASE("timestamps compare", "[capture_reader]") {
    CHECK(timestamp{1, 5} < timestamp{1, 6});
    CHECK(timestamp{1, 999999999} < timestamp{2, 0});
    CHECK(timestamp{-1, 0} < timestamp{0, 0});
    CHECK(timestamp{3, 4} == timestamp{3, 4});
    CHECK(timestamp{3, 4} != timestamp{3, 5});
    CHECK(timestamp{3, 4} >= timestamp{3, 4});
    CHECK(timestamp{4, 0} > timestamp{3, 4});
}

TEST_CASE("sniff_format reads the magic", "[capture_reader]") {
    auto sniff = [](bytes b) { return sniff_format(b.data(), b.size()); };
    CHECK(sniff({0xd4, 0xc3, 0xb2, 0xa1}) == file_format::pcap);
    CHECK(sniff({0xa1, 0xb2, 0xc3, 0xd4}) == file_format::pcap);
    CHECK(sniff({0x4d, 0x3c, 0xb2, 0xa1}) == file_format::pcap_ns);
    CHECK(sniff({0xa1, 0xb2, 0x3c, 0x4d}) == file_format::pcap_ns);
    CHECK(sniff({0x34, 0xcd, 0xb2, 0xa1}) == file_format::pcap);
    CHECK(sniff({0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a}) == file_format::pcapng);
    CHECK(sniff({0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d}) == file_format::pcapng);
    CHECK(sniff({0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4e}) == std::nullopt);
    CHECK(sniff({0x0a, 0x0d, 0x0d, 0x0a}) == file_format::pcapng);
    CHECK(sniff({0xd4, 0xc3, 0xb2}) == std::nullopt);
    CHECK(sniff({}) == std::nullopt);
    CHECK(sniff({0x1f, 0x8b, 0x08, 0x00}) == std::nullopt);
}

TEST_CASE("pcap, microseconds, both byte orders", "[capture_reader]") {
    for (bool big : {false, true}) {
        DYNAMIC_SECTION((big ? "big" : "little") << "-endian") {
            bytes file = pcap_file(big, false, 1, 65535,
                                   {{1234902022, 5, payload(60, 1), 0},
                                    {1234902023, 999999, payload(1514, 2), 0},
                                    {1234902024, 0, payload(0, 3), 0},
                                    {4294967295u, 1, payload(68, 4), 1500}});
            capture_reader r(file.data(), file.size(), "x.pcap");
            CHECK(r.format() == file_format::pcap);
            CHECK(r.byte_swapped() == (big != host_is_big()));
            CHECK(r.version_major() == 2);
            CHECK(r.version_minor() == 4);
            CHECK(r.file_size() == file.size());
            CHECK(r.position() == 24);
            REQUIRE(r.interfaces().size() == 1);
            CHECK(r.interfaces()[0].linktype == 1);
            CHECK(r.interfaces()[0].snaplen == 65535);
            CHECK(r.interfaces()[0].ts_digits == 6);
            packet_view p;
            REQUIRE(r.next(p));
            CHECK(p.ts == timestamp{1234902022, 5000});
            CHECK(p.caplen == 60);
            CHECK(p.origlen == 60);
            CHECK(p.interface == 0);
            CHECK(p.offset == 24);
            CHECK(p.has_timestamp);
            CHECK(data_of(p) == payload(60, 1));
            REQUIRE(r.next(p));
            CHECK(p.ts == timestamp{1234902023, 999999000});
            CHECK(p.offset == 24 + 16 + 60);
            CHECK(data_of(p) == payload(1514, 2));
            REQUIRE(r.next(p));
            CHECK(p.caplen == 0);
            REQUIRE(r.next(p));
            CHECK(p.ts.sec == 4294967295);  // unsigned 32-bit seconds, as the spec and capinfos read them
            CHECK(p.caplen == 68);
            CHECK(p.origlen == 1500);
            CHECK(!r.next(p));
            CHECK(!r.next(p));  // stays at the end
            CHECK(r.position() == file.size());
        }
    }
}

TEST_CASE("pcap, nanoseconds, both byte orders", "[capture_reader]") {
    for (bool big : {false, true}) {
        bytes file = pcap_file(big, true, 113, 262144, {{100, 123456789, payload(40, 9), 0}, {101, 0, payload(1, 0), 0}});
        capture_reader r(file.data(), file.size(), "ns.pcap");
        CHECK(r.format() == file_format::pcap_ns);
        CHECK(r.interfaces()[0].ts_digits == 9);
        CHECK(r.interfaces()[0].linktype == 113);
        packet_view p;
        REQUIRE(r.next(p));
        CHECK(p.ts == timestamp{100, 123456789});
        REQUIRE(r.next(p));
        CHECK(p.ts == timestamp{101, 0});
        CHECK(!r.next(p));
    }
}

TEST_CASE("pcap sub-second fields out of range are carried into the seconds", "[capture_reader]") {
    auto packets = read_all(pcap_file(false, false, 1, 65535, {{10, 1000000, payload(4, 0), 0}, {10, 2500000, payload(4, 0), 0}}));
    CHECK(packets[0].ts == timestamp{11, 0});
    CHECK(packets[1].ts == timestamp{12, 500000000});
    packets = read_all(pcap_file(false, true, 1, 65535, {{10, 0x80000000u, payload(4, 0), 0}}));
    CHECK(packets[0].ts == timestamp{12, 147483648});
}

TEST_CASE("pcap link-type field: FCS bits are dropped, the whole field is kept aside", "[capture_reader]") {
    bytes file = pcap_file(false, false, 0x30000001, 65535, {{1, 0, payload(10, 0), 0}});
    capture_reader r(file.data(), file.size(), "fcs.pcap");
    CHECK(r.interfaces()[0].linktype == 1);
    CHECK(r.header_linktype() == 0x30000001);
    bytes file2 = pcap_file(true, false, 0x04000069, 65535, {});
    capture_reader r2(file2.data(), file2.size(), "p.pcap");
    CHECK(r2.interfaces()[0].linktype == 105);
}

TEST_CASE("pcap caplen above the snaplen is read; above libpcap's maximum it is an error", "[capture_reader]") {
    // As in tcpdump's q933-heapoverflow-2.pcap: snaplen 9, larger packets.
    auto packets = read_all(pcap_file(false, false, 1, 9, {{1, 0, payload(100, 0), 0}, {2, 0, payload(262144, 1), 0}}));
    REQUIRE(packets.size() == 2);
    CHECK(packets[0].caplen == 100);
    CHECK(packets[1].caplen == 262144);
    CHECK(data_of(packets[1]) == payload(262144, 1));
    // Even a huge header snaplen does not lift the limit (libpcap adjusts it down).
    std::string e = error_of(pcap_file(false, false, 1, 0x80000000u, {{1, 0, payload(10, 0), 0}, {1, 0, payload(262145, 0), 0}}));
    CHECK(e == "F: invalid packet capture length 262145, bigger than maximum of 262144 (at byte 50)");
    // D-Bus messages may be up to 128 MiB.
    packets = read_all(pcap_file(false, false, 231, 0, {{1, 0, payload(300000, 0), 0}}));
    CHECK(packets.at(0).caplen == 300000);
    // caplen above the length on the wire is read as it is.
    packets = read_all(pcap_file(false, false, 1, 65535, {{1, 0, payload(100, 0), 60}}));
    CHECK(packets.at(0).caplen == 100);
    CHECK(packets.at(0).origlen == 60);
}

TEST_CASE("pcap versions before 2.3 exchange caplen and len", "[capture_reader]") {
    // Written as (len, caplen): 100 on the wire, 40 captured.
    out o;
    o.u32(0xa1b2c3d4).u16(2).u16(2).u32(0).u32(0).u32(65535).u32(1);
    o.u32(1).u32(0).u32(100).u32(40).raw(payload(40, 0));
    auto packets = read_all(o.b);
    REQUIRE(packets.size() == 1);
    CHECK(packets[0].caplen == 40);
    CHECK(packets[0].origlen == 100);

    // 2.3: exchanged only when caplen > len.
    out o3;
    o3.u32(0xa1b2c3d4).u16(2).u16(3).u32(0).u32(0).u32(65535).u32(1);
    o3.u32(1).u32(0).u32(100).u32(40).raw(payload(40, 0));  // old order
    o3.u32(1).u32(0).u32(30).u32(90).raw(payload(30, 0));   // new order
    packets = read_all(o3.b);
    REQUIRE(packets.size() == 2);
    CHECK(packets[0].caplen == 40);
    CHECK(packets[1].caplen == 30);
    CHECK(packets[1].origlen == 90);

    CHECK(error_of(pcap_file(false, false, 1, 65535, {}, 3, 0)) == "F: unsupported pcap version 3.0");
    CHECK(error_of(pcap_file(false, false, 1, 65535, {}, 1, 0)) == "F: unsupported pcap version 1.0");
    CHECK(error_of(pcap_file(false, false, 1, 65535, {}, 2, 5)) == "F: unsupported pcap version 2.5");
}

TEST_CASE("the modified pcap format has 24-byte record headers", "[capture_reader]") {
    out o;
    o.u32(0xa1b2cd34).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1);
    o.u32(7).u32(8).u32(5).u32(5).u32(2).u16(0x0800).u8(0).u8(0).raw(payload(5, 0));
    auto packets = read_all(o.b);
    REQUIRE(packets.size() == 1);
    CHECK(packets[0].ts == timestamp{7, 8000});
    CHECK(data_of(packets[0]) == payload(5, 0));
}

TEST_CASE("not a capture: empty, bad magic, compressed, short header", "[capture_reader]") {
    CHECK(error_of({}) == "F: empty file, not a pcap or pcapng file");
    CHECK(error_of({'h', 'e', 'l', 'l', 'o', '\n'}) == "F: not a pcap or pcapng file");
    CHECK(error_of({0xd4, 0xc3}) == "F: not a pcap or pcapng file");
    CHECK(error_of({0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0}) ==
          "F: not a pcap or pcapng file (gzip-compressed: decompress it first)");
    CHECK(error_of({0x28, 0xb5, 0x2f, 0xfd, 1}) ==
          "F: not a pcap or pcapng file (zstd-compressed: decompress it first)");
    bytes header = pcap_file(false, false, 1, 65535, {});
    header.resize(20);
    CHECK(error_of(header) == "F: truncated pcap file header: needs 24 bytes, 20 left (at byte 0)");
    // Error classes: format_error is a capture::error.
    try {
        read_all({'x', 'y', 'z', 'w'});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(std::string(e.what()).find("not a pcap") != std::string::npos);
    }
}

TEST_CASE("a truncated pcap record is named with its offset", "[capture_reader]") {
    bytes file = pcap_file(false, false, 1, 65535, {{1, 0, payload(60, 0), 0}, {2, 0, payload(100, 0), 0}});
    bytes cut(file.begin(), file.end() - 30);
    capture_reader r(cut.data(), cut.size(), "cut.pcap");
    packet_view p;
    REQUIRE(r.next(p));
    try {
        r.next(p);
        FAIL("no error");
    } catch (const format_error& e) {
        CHECK(std::string(e.what()) == "cut.pcap: truncated packet record: needs 116 bytes, 86 left (at byte 100)");
    }
    bytes cut2(file.begin(), file.begin() + 24 + 76 + 10);
    CHECK(error_of(cut2) == "F: truncated packet record header: needs 16 bytes, 10 left (at byte 100)");
}

TEST_CASE("every cut of a pcap file is a clean end or an error, never a misread", "[capture_reader]") {
    for (bool big : {false, true}) {
        bytes file = pcap_file(big, false, 1, 65535,
                               {{1, 0, payload(7, 0), 0}, {2, 0, payload(0, 0), 0}, {3, 0, payload(33, 0), 0}});
        check_every_cut(file);
    }
}

namespace {

// Two sections in different byte orders; three interfaces in the first with
// different link types, snaplens and clocks; every packet block kind; blocks
// that carry no packets on the way.
bytes multi_section(bool first_big) {
    pcapng f;
    f.shb(first_big);
    f.block(0xBAD, {1, 2, 3, 4, 5});                                                // unknown: skipped
    f.idb(1, 65535, {{2, {'e', 't', 'h', '0'}}});                                   // #0: us
    f.idb(127, 2048, {{2, {'w', 'l', 'a', 'n', '0', 0}}, {9, {9}}});                // #1: ns
    f.idb(228, 0, {{9, {0x80 | 10}}, {14, u64_bytes(1000, first_big)}});            // #2: 2^-10, +1000 s
    f.epb(0, 1234902022123456ull, payload(60, 1));                                  // 1234902022.123456
    f.epb(1, 1234902022123456789ull, payload(100, 2), 200);                         // 1234902022.123456789
    f.epb(2, (5ull << 10) | 512, payload(20, 3));                                   // 5.5 s + 1000
    f.block(4, {0, 0, 0, 0});                                                       // NRB
    f.pb(1, 7000000001ull, payload(30, 4));                                         // 7.000000001
    f.spb(1500, payload(64, 5));                                                    // on #0, caplen 64
    f.block(5, bytes(24, 0));                                                       // ISB
    f.shb(!first_big);
    f.idb(276, 128);                                                                // global #3
    f.block(0x40000BAD, bytes(8, 7));                                               // custom-looking: skipped
    f.spb(1000, payload(128, 6));                                                   // caplen min(1000, 128, room)
    f.epb(0, 9000001ull, payload(3, 7));                                            // 9.000001
    return f.data();
}

}  // namespace

TEST_CASE("pcapng: sections in both byte orders, several interfaces, every block kind", "[capture_reader]") {
    for (bool big : {false, true}) {
        DYNAMIC_SECTION("first section " << (big ? "big" : "little") << "-endian") {
            bytes file = multi_section(big);
            capture_reader r(file.data(), file.size(), "multi.pcapng");
            CHECK(r.format() == file_format::pcapng);
            CHECK(r.byte_swapped() == (big != host_is_big()));
            CHECK(r.version_major() == 1);
            CHECK(r.version_minor() == 0);
            REQUIRE(r.interfaces().size() == 3);  // the first section's, before any packet
            std::vector<packet_view> packets;
            packet_view p;
            while (r.next(p)) packets.push_back(p);
            REQUIRE(packets.size() == 7);
            const auto& ifs = r.interfaces();
            REQUIRE(ifs.size() == 4);
            CHECK(ifs[0].linktype == 1);
            CHECK(ifs[0].name == "eth0");
            CHECK(ifs[0].ts_digits == 6);
            CHECK(ifs[1].linktype == 127);
            CHECK(ifs[1].snaplen == 2048);
            CHECK(ifs[1].name == "wlan0");  // a writer's trailing NUL dropped
            CHECK(ifs[1].ts_digits == 9);
            CHECK(ifs[2].linktype == 228);
            CHECK(ifs[2].ts_digits == 4);  // 2^-10 = 0.0009765625 s: 4 digits
            CHECK(ifs[3].linktype == 276);
            CHECK(ifs[3].snaplen == 128);

            CHECK(packets[0].interface == 0);
            CHECK(packets[0].ts == timestamp{1234902022, 123456000});
            CHECK(data_of(packets[0]) == payload(60, 1));
            CHECK(packets[1].interface == 1);
            CHECK(packets[1].ts == timestamp{1234902022, 123456789});
            CHECK(packets[1].caplen == 100);
            CHECK(packets[1].origlen == 200);
            CHECK(packets[2].interface == 2);
            CHECK(packets[2].ts == timestamp{1005, 500000000});
            CHECK(packets[3].interface == 1);  // obsolete packet block
            CHECK(packets[3].ts == timestamp{7, 1});
            CHECK(data_of(packets[3]) == payload(30, 4));
            CHECK(packets[4].interface == 0);  // simple packet block: the section's first interface
            CHECK(!packets[4].has_timestamp);
            CHECK(packets[4].ts == timestamp{});
            CHECK(packets[4].caplen == 64);
            CHECK(packets[4].origlen == 1500);
            CHECK(data_of(packets[4]) == payload(64, 5));
            CHECK(packets[5].interface == 3);
            CHECK(packets[5].caplen == 128);  // snaplen 128 < len 1000
            CHECK(packets[5].origlen == 1000);
            CHECK(packets[6].interface == 3);  // section 2's interface 0
            CHECK(packets[6].ts == timestamp{9, 1000});
            CHECK(data_of(packets[6]) == payload(3, 7));
            for (std::size_t i = 1; i < packets.size(); ++i) CHECK(packets[i - 1].offset < packets[i].offset);
            CHECK(r.position() == file.size());
        }
    }
}

TEST_CASE("pcapng timestamp resolutions and offsets", "[capture_reader]") {
    struct resolution_case {
        std::uint8_t tsresol;
        std::uint64_t t;
        timestamp want;
        int digits;
    };
    std::vector<resolution_case> cases{
        {0, 1700000000, {1700000000, 0}, 0},
        {3, 1700000000123, {1700000000, 123000000}, 3},
        {6, 1700000000123456, {1700000000, 123456000}, 6},
        {9, 1700000000123456789ull, {1700000000, 123456789}, 9},
        {12, 1700000000123456789ull, {1700000, 123456}, 9},  // picoseconds, cut to ns
        {19, 18446744073709551615ull, {1, 844674407}, 9},
        {0x80, 42, {42, 0}, 0},
        {0x80 | 1, 3, {1, 500000000}, 1},
        {0x80 | 10, (1ull << 10) + 1, {1, 976562}, 4},  // 1/1024 s = 976562.5 ns
        {0x80 | 30, (3ull << 30) + (1ull << 29), {3, 500000000}, 9},
        {0x80 | 63, (1ull << 63) | (1ull << 62), {1, 500000000}, 9},
    };
    for (const auto& c : cases) {
        INFO("tsresol " << int(c.tsresol));
        pcapng f;
        f.shb(false).idb(1, 0, {{9, {c.tsresol}}}).epb(0, c.t, payload(1, 0));
        capture_reader r(f.data().data(), f.data().size(), "t");
        packet_view p;
        REQUIRE(r.next(p));
        CHECK(p.ts == c.want);
        CHECK(r.interfaces()[0].ts_digits == c.digits);
    }
    // A negative offset.
    pcapng f;
    f.shb(true).idb(1, 0, {{14, u64_bytes(static_cast<std::uint64_t>(-100), true)}}).epb(0, 1000000, payload(1, 0));
    auto packets = read_all(f.data());
    CHECK(packets.at(0).ts == timestamp{-99, 0});
    // Resolutions that do not fit 64 bits, and seconds beyond int64.
    pcapng fine;
    fine.shb(false).idb(1, 0, {{9, {20}}});
    CHECK(error_of(fine.data()) == "F: if_tsresol 10^-20 is too fine (at byte 40)");
    pcapng fine2;
    fine2.shb(false).idb(1, 0, {{9, {0x80 | 64}}});
    CHECK(error_of(fine2.data()) == "F: if_tsresol 2^-64 is too fine (at byte 40)");
    pcapng big;
    big.shb(false).idb(1, 0, {{9, {0}}}).epb(0, ~std::uint64_t{0}, payload(1, 0));
    CHECK(error_of(big.data()).find("timestamp out of range") != std::string::npos);
    pcapng over;
    over.shb(false).idb(1, 0, {{9, {0}}, {14, u64_bytes(1, false)}}).epb(0, 0x7fffffffffffffffull, payload(1, 0));
    CHECK(error_of(over.data()).find("timestamp out of range") != std::string::npos);
    pcapng badlen;
    badlen.shb(false).idb(1, 0, {{9, {6, 6}}});
    CHECK(error_of(badlen.data()) == "F: if_tsresol option of 2 bytes (must be 1) (at byte 40)");
}

TEST_CASE("pcapng: packets on unknown interfaces and blocks that lie", "[capture_reader]") {
    SECTION("an interface the section does not have") {
        pcapng f;
        f.shb(false).idb(1, 0).shb(false).idb(1, 0).epb(1, 0, payload(1, 0));
        CHECK(error_of(f.data()) ==
              "F: packet on interface 1, but its section has 1 interface description block(s) (at byte 120)");
    }
    SECTION("a simple packet block before any interface") {
        pcapng f;
        f.shb(false).spb(4, payload(4, 0));
        CHECK(error_of(f.data()) ==
              "F: simple packet block before any interface description block in its section (at byte 40)");
    }
    SECTION("a block length below the minimum") {
        pcapng f;
        f.shb(false).idb(1, 0).epb(0, 0, payload(4, 0));
        const auto at = std::to_string(f.data().size());
        f.o.u32(6).u32(8).u32(8);
        CHECK(error_of(f.data()) == "F: enhanced packet block has an invalid length of 8 (at byte " + at + ")");
    }
    SECTION("a block length that is not a multiple of 4") {
        pcapng f;
        f.shb(false).idb(1, 0);
        f.o.u32(0x77).u32(13).u32(0).u32(13);
        CHECK(error_of(f.data()) == "F: block of type 0x00000077 has an invalid length of 13 (at byte 60)");
    }
    SECTION("a huge block length") {
        pcapng f;
        f.shb(false).idb(1, 0).epb(0, 0, payload(4, 0));
        const auto at = std::to_string(f.data().size());
        f.o.u32(6).u32(0xfffffff0).u32(0);
        CHECK(error_of(f.data()) ==
              "F: truncated enhanced packet block: needs 4294967280 bytes, 12 left (at byte " + at + ")");
    }
    SECTION("header and trailer lengths differ") {
        pcapng f;
        f.shb(false).idb(1, 0);
        f.o.u32(0x77).u32(16).u32(0).u32(20);
        CHECK(error_of(f.data()) == "F: block length 16 in header and 20 in trailer differ (at byte 60)");
    }
    SECTION("packet data running past its block") {
        pcapng f;
        f.shb(false).idb(1, 0);
        out b;
        b.u32(0).u32(0).u32(0).u32(100).u32(100).raw(payload(8, 0));
        f.block(6, b.b);
        CHECK(error_of(f.data()) ==
              "F: packet data of 100 bytes runs past the end of its block (room for 8) (at byte 60)");
    }
    SECTION("an enhanced packet block too short for its fields") {
        pcapng f;
        f.shb(false).idb(1, 0).block(6, bytes(8, 0));
        CHECK(error_of(f.data()) == "F: enhanced packet block too short (20 bytes) (at byte 60)");
    }
    SECTION("an interface option running past its block") {
        pcapng f;
        f.shb(false);
        out b;
        b.u16(1).u16(0).u32(0).u16(2).u16(40).raw({'e', 't', 'h', '0'});
        f.block(1, b.b);
        f.epb(0, 0, payload(1, 0));
        CHECK(error_of(f.data()) ==
              "F: interface description block option 2 of 40 bytes runs past the end of the block (at byte 40)");
    }
    SECTION("a later section header with a bad byte-order magic") {
        pcapng f;
        f.shb(false).idb(1, 0).epb(0, 0, payload(1, 0));
        const auto at = std::to_string(f.data().size());
        f.o.u32(0x0a0d0d0a).u32(28).u32(0x12345678).u16(1).u16(0).u64(0).u32(28);
        capture_reader r(f.data().data(), f.data().size(), "F");
        packet_view p;
        CHECK(r.next(p));
        CHECK_THROWS_WITH(r.next(p), "F: section header block has a bad byte-order magic (at byte " + at + ")");
    }
    SECTION("an unsupported major version") {
        pcapng f;
        f.shb(false, 2, 0);
        CHECK(error_of(f.data()) == "F: unsupported pcapng version 2.0 (at byte 0)");
        pcapng g;
        g.shb(false, 1, 2).idb(1, 0).epb(0, 0, payload(1, 0));
        CHECK(read_all(g.data()).size() == 1);
    }
    SECTION("a broken interface block after the header is reported by next(), not the constructor") {
        pcapng f;
        f.shb(false).idb(1, 0).idb(1, 0, {{9, {99}}});
        capture_reader r(f.data().data(), f.data().size(), "F");
        CHECK(r.interfaces().size() == 1);
        packet_view p;
        CHECK_THROWS_WITH(r.next(p), "F: if_tsresol 10^-99 is too fine (at byte 60)");
    }
    SECTION("a caplen above libpcap's maximum") {
        pcapng f;
        f.shb(false).idb(1, 0).epb(0, 0, payload(262145, 0));
        CHECK(error_of(f.data()) == "F: invalid packet capture length 262145, bigger than maximum of 262144 (at byte 60)");
    }
    SECTION("a caplen above the interface's snaplen is read") {
        pcapng f;
        f.shb(false).idb(1, 64).epb(0, 0, payload(100, 0));
        CHECK(read_all(f.data()).at(0).caplen == 100);
    }
    SECTION("a simple packet block's caplen is bounded by its block") {
        pcapng f;
        f.shb(false).idb(1, 0).spb(5000, payload(12, 0));
        auto packets = read_all(f.data());
        CHECK(packets.at(0).caplen == 12);
        CHECK(packets.at(0).origlen == 5000);
    }
}

TEST_CASE("pcapng: a file with only a section header, and a short one", "[capture_reader]") {
    pcapng f;
    f.shb(false);
    CHECK(read_all(f.data()).empty());
    bytes cut(f.data().begin(), f.data().begin() + 20);
    CHECK(error_of(cut) == "F: truncated section header block: needs 40 bytes, 20 left (at byte 0)");
    bytes tiny(f.data().begin(), f.data().begin() + 8);
    CHECK(error_of(tiny) == "F: truncated section header block: needs 28 bytes, 8 left (at byte 0)");
}

TEST_CASE("every cut of a pcapng file is a clean end or an error, never a misread", "[capture_reader]") {
    check_every_cut(multi_section(false));
    check_every_cut(multi_section(true));
}

TEST_CASE("reading through the file mapping", "[capture_reader]") {
    char path[] = "/tmp/capture_reader_test_XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    bytes file = pcap_file(false, false, 1, 65535, {{1, 0, payload(60, 0), 0}, {2, 0, payload(61, 0), 0}});
    REQUIRE(::write(fd, file.data(), file.size()) == static_cast<ssize_t>(file.size()));
    ::close(fd);
    {
        capture_reader r(path);
        CHECK(r.name() == path);
        CHECK(r.file_size() == file.size());
        packet_view p;
        int n = 0;
        while (r.next(p)) ++n;
        CHECK(n == 2);
        capture_reader moved(std::move(r));
        CHECK(!moved.next(p));
    }
    REQUIRE(::truncate(path, 0) == 0);
    CHECK_THROWS_WITH(capture_reader{path}, std::string(path) + ": empty file, not a pcap or pcapng file");
    ::unlink(path);
    CHECK_THROWS_WITH(capture_reader{path}, std::string(path) + ": No such file or directory");
    CHECK_THROWS_WITH(capture_reader{"/tmp"}, "/tmp: is a directory");
}

TEST_CASE("offsets beyond 4 GiB", "[capture_reader]") {
    if (sizeof(std::size_t) < 8) {
        WARN("32-bit size_t: skipped");
        return;
    }
    // Untouched anonymous pages read as the shared zero page, so a 4.5 GiB
    // "file" costs a few pages of memory. D-Bus records may be 128 MiB, so
    // 37 records reach past 4 GiB; only their headers are written.
    const std::size_t record = 128u * 1024 * 1024;
    const std::size_t count = 37;
    const std::size_t size = 24 + count * (16 + record) + 16 + 4;
    void* m = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        WARN("cannot reserve 4.5 GiB of address space: skipped");
        return;
    }
    auto* base = static_cast<std::uint8_t*>(m);
    auto put32 = [](std::uint8_t* at, std::uint32_t v) { std::memcpy(at, &v, 4); };
    put32(base, 0xa1b2c3d4);
    put32(base + 4, 0x00040002);
    put32(base + 16, 0);
    put32(base + 20, 231);
    std::size_t at = 24;
    for (std::size_t i = 0; i < count; ++i, at += 16 + record) {
        put32(base + at, static_cast<std::uint32_t>(i));
        put32(base + at + 8, static_cast<std::uint32_t>(record));
        put32(base + at + 12, static_cast<std::uint32_t>(record));
    }
    const std::size_t last = at;
    put32(base + at, 99);
    put32(base + at + 8, 4);
    put32(base + at + 12, 4);
    put32(base + at + 16, 0xdeadbeef);
    {
        capture_reader r(base, size, "big");
        packet_view p;
        std::size_t n = 0;
        while (r.next(p)) {
            ++n;
            if (p.ts.sec == 99) {
                CHECK(p.offset == last);
                CHECK(p.offset > 0x100000000ull);
                std::uint32_t v;
                std::memcpy(&v, p.data, 4);
                CHECK(v == 0xdeadbeef);
            }
        }
        CHECK(n == count + 1);
        CHECK(r.position() == size);
        // Cut the last record short: the offset in the message is 64-bit.
        capture_reader cut(base, size - 1, "big");
        try {
            while (cut.next(p)) {
            }
            FAIL("no error");
        } catch (const format_error& e) {
            CHECK(std::string(e.what()) == "big: truncated packet record: needs 20 bytes, 19 left (at byte " +
                                               std::to_string(last) + ")");
        }
    }
    ::munmap(m, size);
}

TEST_CASE("link type names and descriptions", "[linktype]") {
    CHECK(linktype_name(1) == "EN10MB");
    CHECK(linktype_description(1) == "Ethernet");
    CHECK(linktype_name(113) == "LINUX_SLL");
    CHECK(linktype_description(113) == "Linux cooked-mode capture v1");
    CHECK(linktype_name(127) == "IEEE802_11_RADIO");
    CHECK(linktype_description(127) == "IEEE 802.11 plus radiotap radio header");
    CHECK(linktype_description(228) == "Raw IPv4");
    CHECK(linktype_name(101) == "RAW");  // LINKTYPE_RAW, DLT_RAW is 12 or 14
    CHECK(linktype_name(12) == "RAW");   // a DLT value in a file: libpcap's reading
    CHECK(linktype_name(0) == "NULL");
    CHECK(linktype_name(276) == "LINUX_SLL2");
    CHECK(linktype_name(149) == "USER2");
    CHECK(linktype_name(65000).empty());
    CHECK(linktype_description(65000).empty());
    CHECK(linktype_label(1) == "EN10MB (Ethernet)");
    CHECK(linktype_label(65000) == "65000");
    for (std::size_t i = 1; i < detail::linktype_table.size(); ++i)
        CHECK(detail::linktype_table[i - 1].linktype < detail::linktype_table[i].linktype);
}

namespace {

std::string corpus_dir() {
    if (const char* env = std::getenv("CAPTURE_CORPUS"); env && *env) return env;
#if defined(CAPTURE_CORPUS_DIR)
    return CAPTURE_CORPUS_DIR;
#elif defined(CAPTURE_SOURCE_DIR)
    return std::string(CAPTURE_SOURCE_DIR) + "/../shared/corpus";
#else
    return "../shared/corpus";
#endif
}

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
        std::size_t tab = line.find('\t', start);
        fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
        if (tab == std::string::npos) return fields;
        start = tab + 1;
    }
}

// "sec.frac" with the interface's digits, as capinfos -S prints it.
std::string epoch_text(const timestamp& t, int digits) {
    char frac[16];
    std::snprintf(frac, sizeof frac, "%09u", t.nsec);
    std::string s = std::to_string(t.sec);
    if (digits > 0) s += "." + std::string(frac, static_cast<std::size_t>(digits));
    return s;
}

}  // namespace

TEST_CASE("every tcpdump corpus file reads with tcpdump's packet count", "[capture_reader][corpus]") {
    const std::string dir = corpus_dir();
    std::ifstream index(dir + "/index.tsv");
    if (!index) {
        WARN("corpus absent: skipped (" << dir << "/index.tsv)");
        return;
    }
    std::string line;
    std::getline(index, line);
    std::map<std::string, std::size_t> column;
    auto head = split_tabs(line);
    for (std::size_t i = 0; i < head.size(); ++i) column[head[i]] = i;
    for (const char* needed : {"file", "tcpdump_packets", "tcpdump_linktype", "capinfos_status", "capinfos_first_ts",
                               "capinfos_last_ts", "kind", "notes"})
        REQUIRE(column.count(needed));
    std::size_t files = 0, times_compared = 0;
    while (std::getline(index, line)) {
        auto row = split_tabs(line);
        if (row.size() < head.size()) continue;
        const std::string& name = row[column["file"]];
        INFO(name);
        ++files;
        std::uint64_t packets = 0;
        std::optional<timestamp> first, last;
        std::string problem;
        int digits = 6;
        std::uint32_t linktype = 0;
        bool low = false, high = false;  // seconds below and at or above 2^31
        try {
            capture_reader r(dir + "/tcpdump/" + name);
            packet_view p;
            while (r.next(p)) {
                ++packets;
                if (!p.has_timestamp) continue;
                (p.ts.sec < 0x80000000ll ? low : high) = true;
                if (!first || p.ts < *first) first = p.ts;
                if (!last || *last < p.ts) last = p.ts;
            }
            if (!r.interfaces().empty()) {
                digits = r.interfaces()[0].ts_digits;
                linktype = r.interfaces()[0].linktype;
            }
            const std::string& kind = row[column["kind"]];
            CHECK(std::string(format_name(r.format())) == (kind == "pcap-nsec" ? "pcap-ns" : kind));
        } catch (const error& e) {
            problem = e.what();
        }
        CHECK(problem == "");
        CHECK(std::to_string(packets) == row[column["tcpdump_packets"]]);
        // tcpdump prints "NAME (description)", or the number for a type libpcap cannot name.
        std::string tcpdump_type = row[column["tcpdump_linktype"]];
        tcpdump_type = tcpdump_type.substr(0, tcpdump_type.find(' '));
        if (!tcpdump_type.empty() && !std::isdigit(static_cast<unsigned char>(tcpdump_type[0])))
            CHECK(std::string(linktype_name(linktype)) == tcpdump_type);
        // Earliest and latest times, where capinfos read the file and printed
        // valid ones. capinfos prints seconds as unsigned but orders them as
        // signed, so files with times on both sides of 2^31 are left out, as
        // are sub-second fields out of range (we carry them into the seconds).
        const std::string& want_first = row[column["capinfos_first_ts"]];
        const std::string& want_last = row[column["capinfos_last_ts"]];
        bool comparable = row[column["capinfos_status"]] == "ok" && first && last && want_first != "n/a" &&
                          !(low && high) && row[column["notes"]].find("ts-frac-out-of-range") == std::string::npos &&
                          want_first.find('-') == std::string::npos &&
                          want_first.size() - want_first.find('.') == static_cast<std::size_t>(digits) + 1 &&
                          want_last.size() - want_last.find('.') == static_cast<std::size_t>(digits) + 1;
        if (comparable) {
            ++times_compared;
            CHECK(epoch_text(*first, digits) == want_first);
            CHECK(epoch_text(*last, digits) == want_last);
        }
    }
    CHECK(files == 830);
    CHECK(times_compared > 800);
}

namespace {

// Packets whose every byte is non-zero and depends on their number, so
// that zeros read where a file was cut can never pass for one of them.
pcap_record marked(std::uint32_t i) {
    bytes d(60 + i * 37 % 1400);
    for (std::size_t k = 0; k < d.size(); ++k) d[k] = static_cast<std::uint8_t>(1 + (i * 7 + k) % 255);
    return {1700000000 + i, i % 1000000, d, 0};
}

std::string temp_file_with(const bytes& content) {
    char path[] = "/tmp/capture_reader_cut_XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    return path;
}

}  // namespace

TEST_CASE("a file cut short while it is read: no SIGBUS, and zeros never pass for packets", "[capture_reader][cut]") {
    std::vector<pcap_record> records;
    std::vector<std::size_t> ends;  // where each record ends in the file
    std::size_t at = 24;
    for (std::uint32_t i = 0; i < 400; ++i) {
        records.push_back(marked(i));
        at += 16 + records.back().data.size();
        ends.push_back(at);
    }
    const bytes file = pcap_file(false, false, 1, 65535, records);
    REQUIRE(file.size() > 5 * 4096);
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t start = ends[20];  // the reader is past here when the file is cut
    // Cuts inside a record, on a record's end, on a page boundary, on both,
    // in the last page, and to nothing but the part already read.
    std::size_t boundary_on_page = 0;
    for (std::size_t e : ends)
        if (e > start + page && e % page == 0) boundary_on_page = e;
    std::vector<std::size_t> cuts{ends[150] + 7, ends[150], 3 * page, ((ends[200] / page) + 1) * page,
                                  file.size() - 5, ends[21]};
    if (boundary_on_page) cuts.push_back(boundary_on_page);
    for (std::size_t cut : cuts) {
        INFO("cut at " << cut << " of " << file.size());
        const std::string path = temp_file_with(file);
        std::size_t whole = 0;  // records wholly before the cut
        while (whole < ends.size() && ends[whole] <= cut) ++whole;
        std::size_t intact = 0, damaged = 0;
        std::string failure;
        {
            capture_reader r(path);
            packet_view p;
            std::size_t n = 0;
            try {
                while (r.next(p)) {
                    if (n == 20) REQUIRE(::truncate(path.c_str(), static_cast<off_t>(cut)) == 0);
                    if (r.still_holds(p)) {
                        REQUIRE(n < records.size());
                        CHECK(p.ts.sec == records[n].sec);
                        CHECK(bytes(p.data, p.data + p.caplen) == records[n].data);
                        CHECK(ends[n] <= cut);
                        ++intact;
                    } else {
                        CHECK(ends[n] > cut);  // the one the cut went through, handed out before it was seen
                        ++damaged;
                    }
                    ++n;
                }
            } catch (const format_error& e) {
                failure = e.what();
                // Asking again says it again.
                CHECK_THROWS_WITH(r.next(p), Catch::Contains("cut short while being read"));
            }
        }
        CHECK(intact == whole);
        CHECK(damaged <= 1);
        CHECK_THAT(failure, Catch::StartsWith(path + ": cut short while being read: " + std::to_string(cut) +
                                              " bytes now, " + std::to_string(file.size()) + " when opened"));
        ::unlink(path.c_str());
    }
}

TEST_CASE("a pcapng file cut short while it is read says so", "[capture_reader][cut]") {
    pcapng f;
    f.shb(false).idb(1, 65535);
    for (std::uint32_t i = 0; i < 300; ++i) f.epb(0, 1700000000000000ull + i, marked(i).data);
    const std::string path = temp_file_with(f.o.b);
    for (std::size_t cut : {std::size_t{8192}, std::size_t{12345}}) {
        INFO("cut at " << cut);
        { std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(f.o.b.data()), static_cast<std::streamsize>(f.o.b.size())); }
        capture_reader r(path);
        packet_view p;
        std::size_t n = 0;
        std::string failure;
        try {
            while (r.next(p)) {
                if (n == 2) REQUIRE(::truncate(path.c_str(), static_cast<off_t>(cut)) == 0);
                if (r.still_holds(p)) CHECK(bytes(p.data, p.data + p.caplen) == marked(static_cast<std::uint32_t>(n)).data);
                ++n;
            }
        } catch (const format_error& e) {
            failure = e.what();
        }
        CHECK_THAT(failure, Catch::Contains("cut short while being read") && Catch::Contains(std::to_string(cut) + " bytes now"));
    }
    ::unlink(path.c_str());
}

TEST_CASE("a record header of zeros in a whole file is a packet, as libpcap reads it", "[capture_reader][cut]") {
    const std::string path = temp_file_with(pcap_file(false, false, 1, 65535, {marked(1), {0, 0, {}, 0}, marked(2)}));
    capture_reader r(path);
    packet_view p;
    int n = 0;
    while (r.next(p)) {
        CHECK(r.still_holds(p));
        ++n;
    }
    CHECK(n == 3);
    ::unlink(path.c_str());
}
