// pull.hpp: the plan (selection, link types, format), the merge order
// (time, then archive order) across directories, the window cut exactly,
// broken files named while the others are pulled, an expression that means
// nothing for one link type, a stop before the start, the same bytes with
// any number of workers.
#include "capture/engine/pull.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <boost/filesystem/operations.hpp>

#include <utime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace capture;

namespace {

const test_support::utc_zone in_utc;

using test_support::temp_dir;

// One packet: its time (us) and the last octet of its IPv4 source.
struct pkt {
    std::int64_t sec;
    std::uint32_t usec;
    std::uint8_t src;
};

std::vector<std::uint8_t> frame(std::uint8_t src) {
    std::vector<std::uint8_t> f = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
                                   0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, src, 192, 0, 2, 1,
                                   0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0};
    return f;
}

// A pcap file of Ethernet (or raw IP: linktype 101) packets.
void write_pcap(const std::string& path, const std::vector<pkt>& packets, std::uint32_t linktype = 1) {
    std::ofstream out(path, std::ios::binary);
    auto put32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    test_support::write_pcap_header(out, linktype);
    for (const auto& p : packets) {
        auto f = frame(p.src);
        if (linktype == 101) f.erase(f.begin(), f.begin() + 14);
        put32(static_cast<std::uint32_t>(p.sec));
        put32(p.usec);
        put32(static_cast<std::uint32_t>(f.size()));
        put32(static_cast<std::uint32_t>(f.size()));
        out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
    }
    out.close();
    if (!packets.empty()) {
        auto last = static_cast<time_t>(packets.back().sec);
        utimbuf t{last, last};
        ::utime(path.c_str(), &t);
    }
}

// (sec, usec, src) of every packet of a capture.
std::vector<std::tuple<std::int64_t, std::uint32_t, int>> read_all(const std::string& path) {
    std::vector<std::tuple<std::int64_t, std::uint32_t, int>> v;
    capture_reader r(path);
    packet_view p;
    while (r.next(p)) v.emplace_back(p.ts.sec, p.ts.nsec / 1000, p.caplen >= 28 ? p.data[p.caplen - 13] : -1);
    return v;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct pulled {
    pull_plan plan;
    pull_result result;
    std::string path;
};

pulled pull(const std::string& out, pull_request req, bool stop_now = false) {
    pulled p;
    p.plan = plan_pull(req);
    p.path = out;
    writer_options o;
    o.format = p.plan.format;
    capture_writer w = capture_writer::to_file(out, o);
    pull_progress progress;
    std::atomic<bool> stop{stop_now};
    p.result = run_pull(p.plan, req, w, progress, stop);
    w.commit();
    return p;
}

}  // namespace

TEST_CASE("two archives merge by time, ties in archive order") {
    temp_dir a, b, out;
    write_pcap(a.path + "/daemonlogger.pcap.1700000000", {{1700000000, 10, 7}, {1700000001, 0, 7}, {1700000005, 0, 7}});
    write_pcap(a.path + "/daemonlogger.pcap.1700000010", {{1700000010, 0, 7}, {1700000012, 5, 7}});
    write_pcap(b.path + "/ring_00001_20231114221320.pcap", {{1700000000, 10, 8}, {1700000003, 0, 8}});
    write_pcap(b.path + "/ring_00002_20231114221331.pcap", {{1700000011, 0, 8}, {1700000012, 5, 8}});
    pull_request req;
    req.archives = {a.path, b.path};
    req.expression = "udp";
    req.jobs = 2;
    auto p = pull(out.path + "/all.pcap", req);
    CHECK(p.result.failures.empty());
    CHECK_FALSE(p.result.interrupted);
    CHECK(p.plan.files.size() == 4);
    CHECK(p.plan.format == output_format::pcap);
    using t = std::tuple<std::int64_t, std::uint32_t, int>;
    CHECK(read_all(p.path) == std::vector<t>{{1700000000, 10, 7}, {1700000000, 10, 8}, {1700000001, 0, 7},
                                             {1700000003, 0, 8}, {1700000005, 0, 7}, {1700000010, 0, 7},
                                             {1700000011, 0, 8}, {1700000012, 5, 7}, {1700000012, 5, 8}});
    CHECK(p.result.packets == 9);

    SECTION("the expression on the bytes") {
        req.expression = "src host 10.0.0.8";
        auto q = pull(out.path + "/eight.pcap", req);
        CHECK(read_all(q.path).size() == 4);
    }
    SECTION("the window, cut to the microsecond; files outside are not read") {
        req.window = make_time_window("@1700000000.00001", "@1700000011", 0);
        auto q = pull(out.path + "/window.pcap", req);
        auto v = read_all(q.path);
        REQUIRE(v.size() == 6);
        CHECK(v.front() == t{1700000000, 10, 7});
        CHECK(v.back() == t{1700000010, 0, 7});
        req.window = make_time_window("@1700000004", "@1700000004.5", 0);
        auto r = pull(out.path + "/narrow.pcap", req);
        CHECK(r.plan.files.size() == 2);  // the first file of each archive: the others start later
        CHECK(read_all(r.path).empty());
    }
    SECTION("the same bytes with any number of workers") {
        req.jobs = 1;
        auto one = pull(out.path + "/one.pcap", req);
        req.jobs = 4;
        auto four = pull(out.path + "/four.pcap", req);
        CHECK(slurp(one.path) == slurp(four.path));
        CHECK(slurp(one.path) == slurp(p.path));
    }
    SECTION("a stop before the start: a valid, empty capture, said to be interrupted") {
        auto q = pull(out.path + "/stopped.pcap", req, true);
        CHECK(q.result.interrupted);
        CHECK(q.result.packets == 0);
        CHECK(read_all(q.path).empty());
    }
}

TEST_CASE("broken files are named, the others pulled") {
    temp_dir a, out;
    write_pcap(a.path + "/daemonlogger.pcap.1700000000", {{1700000000, 0, 7}, {1700000001, 0, 7}});
    write_pcap(a.path + "/daemonlogger.pcap.1700000002", {{1700000002, 0, 7}, {1700000003, 0, 7}});
    write_pcap(a.path + "/daemonlogger.pcap.1700000004", {{1700000004, 0, 7}, {1700000005, 0, 7}});
    boost::filesystem::resize_file(a.path + "/daemonlogger.pcap.1700000002", 24 + 58 + 20);
    std::ofstream(a.path + "/daemonlogger.pcap.1700000003") << "not a capture";
    pull_request req;
    req.archives = {a.path};
    req.expression = "";
    auto p = pull(out.path + "/out.pcap", req);
    REQUIRE(p.plan.problems.size() == 1);
    CHECK_THAT(p.plan.problems[0], Catch::Contains("1700000003") && Catch::Contains("not a pcap or pcapng file"));
    REQUIRE(p.result.failures.size() == 1);
    CHECK_THAT(p.result.failures[0], Catch::Contains("1700000002") && Catch::Contains("truncated"));
    CHECK(read_all(p.path).size() == 5);
}

TEST_CASE("a pcapng file that breaks in its second section keeps the packets before the break") {
    temp_dir a, out;
    // Section 1: one interface, one packet; section 2: one interface, one
    // packet, then a block whose trailer lies. The second packet is on
    // interface 1 of the file, which the blocks leading the file do not declare.
    std::string bytes;
    auto put32 = [&](std::uint32_t v) { bytes.append(reinterpret_cast<const char*>(&v), 4); };
    auto put16 = [&](std::uint16_t v) { bytes.append(reinterpret_cast<const char*>(&v), 2); };
    auto section = [&] {
        put32(0x0a0d0d0a), put32(28), put32(0x1a2b3c4d), put16(1), put16(0), put32(0xffffffff), put32(0xffffffff), put32(28);
        put32(1), put32(20), put16(1), put16(0), put32(65535), put32(20);
    };
    auto packet = [&](std::int64_t sec) {
        auto f = frame(7);
        std::uint64_t t = static_cast<std::uint64_t>(sec) * 1000000;
        const std::size_t padded = (f.size() + 3) & ~std::size_t{3};
        std::uint32_t len = static_cast<std::uint32_t>(32 + padded);
        put32(6), put32(len), put32(0), put32(static_cast<std::uint32_t>(t >> 32)), put32(static_cast<std::uint32_t>(t));
        put32(static_cast<std::uint32_t>(f.size())), put32(static_cast<std::uint32_t>(f.size()));
        bytes.append(reinterpret_cast<const char*>(f.data()), f.size());
        bytes.append(padded - f.size(), '\0');
        put32(len);
    };
    section();
    packet(1700000000);
    section();
    packet(1700000001);
    put32(5), put32(12), put32(16);  // an interface statistics block whose trailer says 16
    std::string broken = a.path + "/daemonlogger.pcap.1700000000";
    std::ofstream(broken, std::ios::binary) << bytes;
    write_pcap(a.path + "/daemonlogger.pcap.1700000002", {{1700000002, 0, 7}});
    pull_request req;
    req.archives = {a.path};
    auto p = pull(out.path + "/out.pcapng", req);
    REQUIRE(p.result.failures.size() == 1);
    CHECK_THAT(p.result.failures[0], Catch::StartsWith(broken + ": block length 12 in header and 16 in trailer differ"));
    CHECK(read_all(p.path).size() == 3);
}

TEST_CASE("the newest file may end in a half-written packet") {
    temp_dir a, out;
    write_pcap(a.path + "/daemonlogger.pcap.1700000000", {{1700000000, 0, 7}});
    write_pcap(a.path + "/daemonlogger.pcap.1700000002", {{1700000002, 0, 7}, {1700000003, 0, 7}});
    boost::filesystem::resize_file(a.path + "/daemonlogger.pcap.1700000002", 24 + 58 + 20);
    pull_request req;
    req.archives = {a.path};
    auto p = pull(out.path + "/out.pcap", req);
    CHECK(p.result.failures.empty());
    CHECK(read_all(p.path).size() == 2);
}

TEST_CASE("several link types: pcapng, and an expression meaningless for one of them") {
    temp_dir a, out;
    write_pcap(a.path + "/daemonlogger.pcap.1700000000", {{1700000000, 0, 7}});
    write_pcap(a.path + "/daemonlogger.pcap.1700000002", {{1700000002, 0, 7}}, 101);
    pull_request req;
    req.archives = {a.path};
    req.expression = "host 10.0.0.7";
    auto p = pull(out.path + "/out.pcapng", req);
    CHECK(p.plan.format == output_format::pcapng);
    CHECK(p.plan.linktypes == std::vector<std::uint32_t>{1, 101});
    CHECK(read_all(p.path).size() == 2);

    req.expression = "ether host 0:1:2:3:4:5";
    auto q = pull(out.path + "/ether.pcapng", req);
    REQUIRE(q.result.failures.size() == 1);
    CHECK_THAT(q.result.failures[0], Catch::Contains("1700000002") && Catch::Contains("link type 101"));
    CHECK(read_all(q.path).size() == 1);

    req.format = output_format::pcap;
    CHECK_THROWS_AS(plan_pull(req), usage_error);
}

TEST_CASE("the interleaved walk keeps what the reader keeps, and hands odd files to it") {
    temp_dir a, out;
    // Ten files; one whose record says caplen > len (the reader reads it as
    // written), one cut short in the middle of a record (not the newest).
    std::vector<pkt> all;
    for (int f = 0; f < 10; ++f) {
        std::vector<pkt> v;
        for (int i = 0; i < 50; ++i)
            v.push_back({1700000000 + 2 * f, static_cast<std::uint32_t>(i * 1000), static_cast<std::uint8_t>(i % 3 + 6)});
        std::string name = a.path + "/daemonlogger.pcap." + std::to_string(1700000000 + 2 * f);
        write_pcap(name, v);
        if (f == 4) {  // caplen 60 > len 42 in record 10
            std::fstream io(name, std::ios::in | std::ios::out | std::ios::binary);
            io.seekp(24 + 10 * (16 + 42) + 8);
            std::uint32_t big = 43;
            io.write(reinterpret_cast<const char*>(&big), 4);
        }
    }
    boost::filesystem::resize_file(a.path + "/daemonlogger.pcap.1700000012", 24 + 20 * 58 + 30);
    pull_request req;
    req.archives = {a.path};
    req.expression = "src host 10.0.0.7";
    req.jobs = 1;
    auto p = pull(out.path + "/out.pcap", req);
    REQUIRE(p.result.failures.size() == 2);  // the cut file; the record that claims one byte more than it has
    // The reference: every file through capture_reader and the program, in order.
    bpf_matcher m(req.expression, 1);
    std::vector<std::tuple<std::int64_t, std::uint32_t, int>> want;
    for (const auto& f : p.plan.files) {
        try {
            capture_reader r(f.file.path);
            packet_view pv;
            while (r.next(pv))
                if (m.matches(pv)) want.emplace_back(pv.ts.sec, pv.ts.nsec / 1000, pv.data[pv.caplen - 13]);
        } catch (const format_error&) {
        }
    }
    CHECK(read_all(p.path) == want);
    CHECK(want.size() > 100);
}

TEST_CASE("large files whose payloads look like records are walked record by record") {
    temp_dir a, out;
    // Two files of about 9 MiB whose payloads are full of things that look
    // like pcap records (a run of 16-byte headers of empty packets): nothing
    // in them may be taken for a packet.
    auto write_big = [](const std::string& path, std::int64_t sec0) {
        std::ofstream o(path, std::ios::binary);
        auto put32 = [&](std::uint32_t v) { o.write(reinterpret_cast<const char*>(&v), 4); };
        put32(0xa1b2c3d4);
        put32(0x00040002);
        put32(0);
        put32(0);
        put32(262144);
        put32(1);
        for (int i = 0; i < 180; ++i) {
            auto f = frame(static_cast<std::uint8_t>(i % 2 ? 7 : 9));
            for (int j = 0; j < 3200; ++j) {  // fake records: sec, 0, caplen 0, len 0
                std::uint32_t fake[4] = {static_cast<std::uint32_t>(sec0), 0, 0, 0};
                const auto* b = reinterpret_cast<const std::uint8_t*>(fake);
                f.insert(f.end(), b, b + 16);
            }
            put32(static_cast<std::uint32_t>(sec0 + i / 100));
            put32(static_cast<std::uint32_t>(i * 10));
            put32(static_cast<std::uint32_t>(f.size()));
            put32(static_cast<std::uint32_t>(f.size()));
            o.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
        }
    };
    write_big(a.path + "/daemonlogger.pcap.1700000000", 1700000000);
    write_big(a.path + "/daemonlogger.pcap.1700000010", 1700000010);
    pull_request req;
    req.archives = {a.path};
    req.expression = "src host 10.0.0.7";
    req.jobs = 1;
    auto p = pull(out.path + "/out.pcap", req);
    CHECK(p.result.failures.empty());
    CHECK_FALSE(p.result.interrupted);
    capture_reader r(p.path);
    packet_view pv;
    std::vector<std::pair<std::int64_t, std::uint32_t>> times;
    std::size_t sevens = 0;
    while (r.next(pv)) {
        times.emplace_back(pv.ts.sec, pv.ts.nsec);
        sevens += pv.caplen > 29 && pv.data[29] == 7 && pv.caplen == 42 + 3200 * 16;
    }
    CHECK(times.size() == 180);  // 90 of each file
    CHECK(sevens == 180);
    CHECK(std::is_sorted(times.begin(), times.end()));
}

TEST_CASE("few large files are walked in segments that keep what the reader keeps") {
    temp_dir a, out;
    // Two files of 12 MiB and more, so that each worker splits its file in
    // three; the newest ends in half a record, as a daemon leaves it.
    auto write_large = [](const std::string& path, std::int64_t sec0, int packets) {
        std::ofstream o(path, std::ios::binary);
        auto put32 = [&](std::uint32_t v) { o.write(reinterpret_cast<const char*>(&v), 4); };
        test_support::write_pcap_header(o, 1);
        for (int i = 0; i < packets; ++i) {
            auto f = frame(static_cast<std::uint8_t>(i % 5 + 5));
            f.resize(f.size() + 200 + static_cast<std::size_t>(i * 7919 % 1200), static_cast<std::uint8_t>(i));
            put32(static_cast<std::uint32_t>(sec0 + i / 1000));
            put32(static_cast<std::uint32_t>(i % 1000 * 1000));
            put32(static_cast<std::uint32_t>(f.size()));
            put32(static_cast<std::uint32_t>(f.size() + 4));
            o.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
        }
    };
    write_large(a.path + "/daemonlogger.pcap.1700000000", 1700000000, 16000);
    write_large(a.path + "/daemonlogger.pcap.1700000016", 1700000016, 16000);
    const std::string newest = a.path + "/daemonlogger.pcap.1700000016";
    boost::filesystem::resize_file(newest, boost::filesystem::file_size(newest) - 100);
    REQUIRE(boost::filesystem::file_size(newest) > 3 * detail::min_segment_bytes);

    // A packet as text, its time first in a fixed width (sec.nsec, 20 characters).
    auto stamp = [](const timestamp& t) {
        char b[32];
        std::snprintf(b, sizeof b, "%010lld.%09u ", static_cast<long long>(t.sec), t.nsec);
        return std::string(b);
    };
    pull_request req;
    req.archives = {a.path};
    req.expression = "src host 10.0.0.7 or src host 10.0.0.9";
    req.jobs = 2;
    auto reference = [&](const pull_plan& plan) {
        bpf_matcher m(req.expression, 1);
        std::vector<std::string> want;
        for (const auto& f : plan.files) {
            capture_reader r(f.file.path);
            packet_view pv;
            try {
                while (r.next(pv))
                    if (req.window.contains(pv.ts) && m.matches(pv))
                        want.push_back(stamp(pv.ts) +
                                       std::string(reinterpret_cast<const char*>(pv.data), pv.caplen));
            } catch (const format_error&) {  // the newest file's half record
            }
        }
        std::stable_sort(want.begin(), want.end(), [](const std::string& x, const std::string& y) {
            return x.compare(0, 20, y, 0, 20) < 0;  // by time: archive order stays for ties
        });
        return want;
    };
    auto got = [&](const std::string& path) {
        std::vector<std::string> v;
        capture_reader r(path);
        packet_view pv;
        while (r.next(pv))
            v.push_back(stamp(pv.ts) +
                        std::string(reinterpret_cast<const char*>(pv.data), pv.caplen));
        return v;
    };
    SECTION("the whole archive") {
        auto p = pull(out.path + "/all.pcap", req);
        CHECK(p.result.failures.empty());
        auto want = reference(p.plan);
        CHECK(want.size() > 12000);
        CHECK(got(p.path) == want);
    }
    SECTION("a window that begins and ends in the middle of files") {
        req.window.since = timestamp{1700000005, 500000000};
        req.window.until = timestamp{1700000021, 250000000};
        req.window.has_since = req.window.has_until = true;
        auto p = pull(out.path + "/window.pcap", req);
        CHECK(p.result.failures.empty());
        auto want = reference(p.plan);
        CHECK(want.size() > 6000);
        CHECK(got(p.path) == want);
        req.jobs = 1;
        CHECK(slurp(pull(out.path + "/one.pcap", req).path) == slurp(p.path));
    }
}
