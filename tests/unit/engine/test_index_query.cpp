// engine/index_*.hpp: a sidecar read back as written; every damaged or
// cut-short sidecar refused; the candidate blocks of each narrowed
// expression hold every packet libpcap's program takes (synthetic packets
// of every kind the decoder reads, and the corpus); which expressions are
// narrowed and which are not; stale captures told apart.
#include "capture/pcap/bpf.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/engine/index_build.hpp"
#include "capture/engine/index_query.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <boost/filesystem.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace capture;
using test_support::temp_dir;

namespace {

using bytes = std::vector<std::uint8_t>;

void put16(bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

// IPv4 (proto, src, dst, ports) or IPv6 after an Ethernet header with `tags` VLAN tags.
bytes frame(std::mt19937& rng, int kind, int tags) {
    bytes f = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    for (int i = 0; i < tags; ++i) {
        put16(f, i == 0 && tags > 1 ? 0x88a8 : 0x8100);
        put16(f, static_cast<std::uint16_t>(rng() % 4096));
    }
    auto host = [&](bytes& b, bool v6) {
        if (v6) {
            const std::uint8_t p[] = {0x20, 0x01, 0x0d, 0xb8};
            b.insert(b.end(), p, p + 4);
            for (int i = 0; i < 11; ++i) b.push_back(0);
            b.push_back(static_cast<std::uint8_t>(rng() % 8));
        } else {
            b.push_back(10);
            b.push_back(0);
            b.push_back(static_cast<std::uint8_t>(rng() % 3));
            b.push_back(static_cast<std::uint8_t>(rng() % 16));
        }
    };
    const std::uint8_t protos[] = {6, 17, 1, 132, 47};
    if (kind == 0) {  // IPv4, maybe a later fragment
        put16(f, 0x0800);
        const std::uint8_t proto = protos[rng() % 5];
        bytes ip = {0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0};
        if (rng() % 8 == 0) ip[7] = 0x10;  // offset 16: no ports
        host(ip, false);
        host(ip, false);
        put16(ip, static_cast<std::uint16_t>(rng() % 6 == 0 ? 80 : 1000 + rng() % 40));
        put16(ip, static_cast<std::uint16_t>(rng() % 5 == 0 ? 53 : 2000 + rng() % 40));
        ip.resize(28 + rng() % 40);
        f.insert(f.end(), ip.begin(), ip.end());
    } else if (kind == 1) {  // IPv6, maybe behind a fragment header
        put16(f, 0x86dd);
        bytes ip = {0x60, 0, 0, 0, 0, 0, 0, 64};
        const bool frag = rng() % 4 == 0;
        const std::uint8_t proto = protos[rng() % 3];
        ip[6] = frag ? 44 : proto;
        host(ip, true);
        host(ip, true);
        if (frag) ip.insert(ip.end(), {proto, 0, 0, 0, 0, 0, 0, 1});
        put16(ip, static_cast<std::uint16_t>(rng() % 6 == 0 ? 80 : 1000 + rng() % 40));
        put16(ip, static_cast<std::uint16_t>(rng() % 5 == 0 ? 53 : 2000 + rng() % 40));
        ip.resize(ip.size() + 4);
        f.insert(f.end(), ip.begin(), ip.end());
    } else if (kind == 2) {  // ARP
        put16(f, 0x0806);
        bytes a = {0, 1, 8, 0, 6, 4, 0, 1, 1, 2, 3, 4, 5, 6};
        host(a, false);
        a.insert(a.end(), {0, 0, 0, 0, 0, 0});
        host(a, false);
        f.insert(f.end(), a.begin(), a.end());
    } else {  // something else
        put16(f, 0x88cc);
        f.resize(f.size() + 30, 0x55);
    }
    // Some frames cut short by the snapshot length, at any byte.
    if (rng() % 10 == 0) f.resize(std::max<std::size_t>(12, f.size() - rng() % 30));
    return f;
}

std::string make_capture(const temp_dir& d, const std::string& name, std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string path = d.path + "/" + name;
    std::ofstream out(path, std::ios::binary);
    test_support::write_pcap_header(out);
    auto put32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    for (std::size_t i = 0; i < n; ++i) {
        int tags = rng() % 10 == 0 ? static_cast<int>(rng() % 3) : 0;
        if (rng() % 200 == 0) tags = 10;
        bytes f = frame(rng, static_cast<int>(rng() % 4), tags);
        put32(static_cast<std::uint32_t>(1700000000 + i / 10));
        put32(static_cast<std::uint32_t>((i % 10) * 1000));
        put32(static_cast<std::uint32_t>(f.size()));
        put32(static_cast<std::uint32_t>(f.size() + 4));
        out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
    }
    return path;
}

const std::vector<std::string> narrowed = {
    "host 10.0.1.7", "src host 10.0.2.3", "dst host 10.0.0.1", "net 10.0.1.0/24", "net 10.0.0.0/28",
    "port 80", "src port 1003", "dst port 53", "tcp", "udp", "icmp", "icmp6", "ip proto 47", "ip", "ip6",
    "vlan", "vlan and host 10.0.1.7", "vlan and vlan and host 10.0.0.3", "tcp port 80",
    "host 10.0.1.2 and host 10.0.0.5 and port 80", "(host 10.0.0.3 && udp) and dst port 53",
    "host 2001:db8::3", "ip6 and net 2001:db8::/126", "ip6 host 2001:db8::1 and tcp", "udp and port 53",
    "ip6 proto 17", "sctp and port 80", "vlan and vlan and vlan and host 10.0.0.2",
};

// Every packet the program takes lies in a candidate block.
void check_superset(const std::string& capture_path, const index_content& c, const std::string& expression,
                    bool vlan_wrap = false) {
    index_reader r = index_reader::from_bytes(encode_index(c));
    index_expression e = analyse_index_expression(expression);
    INFO(capture_path << ": " << expression);
    REQUIRE(e.narrows);
    std::vector<std::uint32_t> cand = candidate_blocks(r, e, time_window{});
    std::vector<bool> is_cand(r.block_count(), false);
    for (auto b : cand) is_cand[b] = true;
    bpf_matcher m(vlan_wrap ? vlan_expression(expression) : expression, c.linktype);
    capture_reader reader(capture_path);
    packet_view p;
    std::size_t block = 0, matched = 0;
    while (reader.next(p)) {
        while (block + 1 < r.block_count() && r.block(block + 1).offset <= p.offset) ++block;
        if (m.matches(p)) {
            ++matched;
            INFO("packet at " << p.offset << " in block " << block);
            REQUIRE(is_cand[block]);
        }
    }
}

}  // namespace

TEST_CASE("index: a sidecar reads back as written") {
    temp_dir d;
    std::string cap = make_capture(d, "a.pcap", 5000, 1);
    index_content c = build_index(cap, 2048);
    CHECK(c.packets == 5000);
    CHECK(c.blocks.size() > 20);
    std::string raw = encode_index(c);
    index_reader r = index_reader::from_bytes(raw);
    CHECK(r.packets() == c.packets);
    CHECK(r.linktype() == 1);
    CHECK(r.block_count() == c.blocks.size());
    CHECK(r.capture().size == c.capture.size);
    CHECK(r.capture().edge_digest == c.capture.edge_digest);
    CHECK(r.key_count() == c.postings.size());
    for (const auto& [key, list] : c.postings) {
        auto e = r.find(key);
        REQUIRE(e);
        CHECK(r.postings(*e) == list);
    }
    r.verify_all();
    // Written and read from a file the same way.
    std::string side = index_path_for(cap);
    CHECK(side == d.path + "/.a.pcap.cidx");
    write_index(side, c);
    index_reader f(side);
    CHECK(f.block_count() == c.blocks.size());
    f.verify_all();
    CHECK(identity_mismatch(f.capture(), identify_capture(cap)).empty());
}

TEST_CASE("index: a damaged or cut-short sidecar is refused") {
    temp_dir d;
    std::string cap = make_capture(d, "a.pcap", 600, 2);
    std::string raw = encode_index(build_index(cap, 1024));
    auto refused = [](const std::string& b) {
        try {
            index_reader r = index_reader::from_bytes(b);
            r.verify_all();
        } catch (const index_error&) {
            return true;
        }
        return false;
    };
    CHECK_FALSE(refused(raw));
    for (std::size_t n : {std::size_t{0}, std::size_t{8}, index_header_bytes - 1, index_header_bytes, raw.size() - 1})
        CHECK(refused(raw.substr(0, n)));
    CHECK(refused(raw + "x"));
    // One bit flipped anywhere: refused (every byte is under a checksum).
    for (std::size_t i = 0; i < raw.size(); i += (i < index_header_bytes ? 1 : 7)) {
        std::string b = raw;
        b[i] = static_cast<char>(b[i] ^ 0x10);
        INFO("byte " << i);
        CHECK(refused(b));
    }
}

TEST_CASE("index: candidate blocks hold every packet the program takes") {
    temp_dir d;
    std::string cap = make_capture(d, "a.pcap", 20000, 3);
    index_content c = build_index(cap, 1500);
    for (const auto& e : narrowed) check_superset(cap, c, e);
    for (const auto& e : {"host 10.0.1.7", "port 53 and udp", "net 10.0.2.0/24"}) check_superset(cap, c, e, true);
    // A rare host reads few blocks.
    index_reader r = index_reader::from_bytes(encode_index(c));
    auto undecoded = r.find(make_number_key(key_type::klass, static_cast<std::uint32_t>(key_class::undecoded)));
    REQUIRE(undecoded);
    CHECK(candidate_blocks(r, analyse_index_expression("host 10.9.9.9"), time_window{}) == r.postings(*undecoded));
    CHECK(r.postings(*undecoded).size() < r.block_count() / 4);
}

TEST_CASE("index: a host table that grows loses no block") {
    // Every packet a new source, one destination throughout, each record a
    // block of its own: the builder's cached posting of the destination
    // must not outlive the table's growth (it once did, and its notes went
    // to freed memory, and the blocks were lost).
    temp_dir d;
    std::string path = d.path + "/grow.pcap";
    {
        std::ofstream out(path, std::ios::binary);
        test_support::write_pcap_header(out);
        auto put32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
        for (std::uint32_t i = 0; i < 3000; ++i) {
            bytes f = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
            if (i % 2 == 0) {
                put16(f, 0x0800);
                bytes ip = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, static_cast<std::uint8_t>(i >> 8),
                            static_cast<std::uint8_t>(i), 10, 0, 0, 1, 0, 1, 0, 2, 0, 8, 0, 0};
                f.insert(f.end(), ip.begin(), ip.end());
            } else {
                put16(f, 0x86dd);
                bytes ip = {0x60, 0, 0, 0, 0, 8, 17, 64, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i),
                            0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 8, 0, 0};
                f.insert(f.end(), ip.begin(), ip.end());
            }
            put32(1700000000 + i);
            put32(0);
            put32(static_cast<std::uint32_t>(f.size()));
            put32(static_cast<std::uint32_t>(f.size()));
            out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
        }
    }
    index_content c = build_index(path, 1);
    REQUIRE(c.blocks.size() == 3000);
    for (const auto& e : {"host 10.0.0.1", "host 2001:db8::1", "dst host 10.0.0.1 and udp"}) check_superset(path, c, e);
    index_reader r = index_reader::from_bytes(encode_index(c));
    auto dst = r.find(make_host_key(std::array<std::uint8_t, 4>{10, 0, 0, 1}.data(), false));
    REQUIRE(dst);
    CHECK(dst->count == 1500);
}

TEST_CASE("index: the corpus's classic pcap files agree with libpcap") {
    namespace fs = boost::filesystem;
    const std::string dir = std::string(CAPTURE_CORPUS_DIR) + "/tcpdump";
    if (!fs::is_directory(dir)) {
        WARN("no corpus at " << dir << ": skipped");
        return;
    }
    std::size_t indexed = 0;
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        index_content c;
        try {
            c = build_index(f, 4096);
        } catch (const error&) {
            continue;  // not one it indexes: scanned
        }
        if (c.packets == 0 || c.capture.size > (std::uint64_t{8} << 20)) continue;
        ++indexed;
        for (const auto& e : {"host 10.0.0.1", "net 192.168.0.0/16", "port 53", "tcp and port 80", "udp", "icmp",
                              "ip6", "icmp6", "vlan", "ip proto 47"}) {
            try {
                check_superset(f, c, e);
            } catch (const expression_error&) {
                // The expression means nothing for this link type: the pull refuses it too.
            }
        }
    }
    CHECK(indexed > 10);
}

TEST_CASE("index: which expressions are narrowed") {
    for (const auto& e : narrowed) CHECK(analyse_index_expression(e).narrows);
    for (const char* e : {"", "host a.example", "not host 10.0.0.1", "host 10.0.0.1 or host 10.0.0.2",
                          "! tcp", "ether host 01:02:03:04:05:06", "portrange 1-5", "net 10.0.0.0",
                          "(host 10.0.0.1", "host", "tcp[13] & 2 != 0", "arp", "port http", "greater 100",
                          "host 10.0.0.1 and", "ip proto foo"})
        CHECK_FALSE(analyse_index_expression(e).narrows);
}

TEST_CASE("index: a capture changed after indexing is told apart") {
    temp_dir d;
    std::string cap = make_capture(d, "a.pcap", 400, 4);
    index_content c = build_index(cap);
    capture_identity before = c.capture;
    {
        std::ofstream out(cap, std::ios::binary | std::ios::app);
        out << "xxxxxxxxxxxxxxxx";
    }
    CHECK(identity_mismatch(before, identify_capture(cap)) == "the capture grew since it was indexed");
    boost::filesystem::resize_file(cap, before.size - 100);
    CHECK(identity_mismatch(before, identify_capture(cap)) == "the capture is shorter than when it was indexed");
    // Rewritten, the same size, its mtime put back: the bytes tell.
    make_capture(d, "a.pcap", 400, 5);
    boost::filesystem::resize_file(cap, before.size);
    struct timespec ts[2] = {{before.mtime_sec, before.mtime_nsec}, {before.mtime_sec, before.mtime_nsec}};
    REQUIRE(::utimensat(AT_FDCWD, cap.c_str(), ts, 0) == 0);
    CHECK(identity_mismatch(before, identify_capture(cap)) == "the capture's bytes changed since it was indexed");
    // A capture it cannot take is refused with a reason.
    std::string bad = d.file("b.pcap", std::string("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8) + std::string(16, '\0') +
                                           std::string(20, '\x7f'));
    CHECK_THROWS_AS(build_index(bad), error);
}

namespace {
// How many pages of [from, to) of the file at path are in the page cache.
std::size_t resident_pages(const std::string& path, std::uint64_t from, std::uint64_t to) {
    mapped_file map(path);
    const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    from = from / page * page;
    std::vector<unsigned char> in((to - from + page - 1) / page);
    REQUIRE(::mincore(const_cast<std::uint8_t*>(map.data()) + from, to - from, in.data()) == 0);
    std::size_t n = 0;
    for (unsigned char c : in) n += c & 1;
    return n;
}
}  // namespace

TEST_CASE("index: a dry run's answer asks the disk for no candidate block; a pull's does") {
    temp_dir d;
    std::string cap = make_capture(d, "a.pcap", 60000, 6);
    write_index(index_path_for(cap), build_index(cap, 1024));
    const index_expression e = analyse_index_expression("host 10.0.1.7");
    // The candidate ranges past the capture's edges (the identity reads those).
    auto middle = [&](const index_answer& a) {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> m;
        const std::uint64_t size = boost::filesystem::file_size(cap);
        for (const auto& r : a.ranges)
            if (r.first >= 2 * index_edge_bytes && r.second + 2 * index_edge_bytes <= size) m.push_back(r);
        return m;
    };
    auto drop_cache = [&] {
        unique_fd fd = open_read(cap);
        REQUIRE(::fdatasync(fd.get()) == 0);
        REQUIRE(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED) == 0);
    };
    auto resident = [&](const std::vector<std::pair<std::uint64_t, std::uint64_t>>& m) {
        std::size_t n = 0;
        for (const auto& r : m) n += resident_pages(cap, r.first, r.second);
        return n;
    };
    const index_answer first = ask_index(cap, "", e, time_window{}, nullptr, 0, false);
    REQUIRE(first.status == index_answer::state::used);
    const auto m = middle(first);
    REQUIRE(m.size() > 10);
    drop_cache();
    if (resident(m) != 0) {
        // A page cache that keeps what it was told to drop (some overlay
        // filesystems) cannot tell the two apart.
        WARN("the page cache kept pages told to go: not checked here");
        return;
    }
    // Checked at once: a read asked for would be in flight, not yet done,
    // so a regression may slip by a run, never fail one that is right.
    index_answer dry = ask_index(cap, "", e, time_window{}, nullptr, 0, false);
    CHECK(dry.ranges == first.ranges);
    CHECK(resident(m) == 0);
    index_answer pull = ask_index(cap, "", e, time_window{});
    CHECK(pull.ranges == dry.ranges);
    // WILLNEED starts the reads and returns: wait for them, bounded.
    for (int i = 0; i < 500 && resident(m) == 0; ++i) ::usleep(10000);
    CHECK(resident(m) > 0);
}
