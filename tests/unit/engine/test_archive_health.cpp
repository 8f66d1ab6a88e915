// The archive health check: the last packet found from the end of a file
// agrees with a walk of the whole file, whatever the packet sizes and
// however the file ends; gaps; bad files; the newest file being written.
#include "capture/engine/archive_health.hpp"

#include "test_support.hpp"

#include <cstring>
#include <random>
#include <sstream>
#include <string>

namespace {

// A pcap of n records of random lengths (some of them looking like record
// headers inside, to tempt the guess), times from start, one every 10 ms.
std::string random_pcap(std::mt19937& rng, int n, std::uint32_t start) {
    std::ostringstream out;
    test_support::write_pcap_header(out);
    std::uniform_int_distribution<std::uint32_t> len(14, 1500);
    for (int i = 0; i < n; ++i) {
        const std::uint32_t caplen = len(rng);
        const std::uint32_t sec = start + static_cast<std::uint32_t>(i / 100), usec = static_cast<std::uint32_t>(i % 100) * 10000;
        for (std::uint32_t v : {sec, usec, caplen, caplen}) out.write(reinterpret_cast<const char*>(&v), 4);
        std::string data(caplen, '\0');
        for (auto& c : data) c = static_cast<char>(rng() & 0xff);
        // Record headers that look right inside the data, to tempt the guess.
        for (std::size_t k = 0; k + 16 <= data.size(); k += 200)
            for (std::uint32_t j = 0, v[4] = {sec, usec, 60u, 60u}; j < 4; ++j) std::memcpy(&data[k + 4 * j], &v[j], 4);
        out << data;
    }
    return out.str();
}

capture::timestamp walked_last(const std::string& path) {
    capture::capture_reader r(path);
    capture::packet_view p;
    capture::timestamp last{};
    while (r.next(p)) last = p.ts;
    return last;
}

}  // namespace

TEST_CASE("the last packet from the end is the last packet of a whole walk") {
    test_support::temp_dir dir;
    std::mt19937 rng(7);
    for (int n : {1, 2, 30, 2000, 9000}) {
        std::string path = dir.file("f" + std::to_string(n), random_pcap(rng, n, 1700000000));
        capture::file_health f;
        f.path = path;
        capture::detail::check_file(f);
        INFO(n);
        CHECK(f.problem.empty());
        REQUIRE(f.last);
        const capture::timestamp w = walked_last(path);
        CHECK(f.last->sec == w.sec);
        CHECK(f.last->nsec == w.nsec);
        CHECK(f.first->sec == 1700000000);
        if (n >= 2000) CHECK_FALSE(f.walked);  // found from the end, not walked
    }
}

TEST_CASE("a file cut inside a record is truncated; the newest one is being written") {
    test_support::temp_dir dir;
    std::mt19937 rng(8);
    std::string whole = random_pcap(rng, 5000, 1700000000);
    dir.file("daemonlogger.pcap.1700000000", whole.substr(0, whole.size() - 5));
    dir.file("daemonlogger.pcap.1700000100", random_pcap(rng, 500, 1700000100));
    std::string newest = random_pcap(rng, 500, 1700000200);
    dir.file("daemonlogger.pcap.1700000200", newest.substr(0, newest.size() - 3));
    auto h = capture::check_archive_health({dir.path}, 30);
    REQUIRE(h.files.size() == 3);
    CHECK(h.files[0].problem.find("truncated") != std::string::npos);
    CHECK(h.files[0].walked);
    CHECK(h.files[1].problem.empty());
    CHECK_FALSE(h.files[1].walked);  // found from its end
    CHECK(h.files[2].problem.empty());  // the newest, its last record being written
    CHECK(h.bad == 1);
    // 5000 packets at 100 a second end near +50 s, the next file starts at
    // +100; 500 from +100 end near +105, the next starts at +200.
    REQUIRE(h.gaps.size() == 2);
    CHECK(h.gaps[0].to.sec == 1700000100);
    CHECK(h.gaps[1].from.sec == 1700000104);
    CHECK(h.gaps[1].to.sec == 1700000200);
    CHECK(h.first->sec == 1700000000);
    CHECK(h.last->sec == 1700000204);
    CHECK(capture::check_archive_health({dir.path}, 60).gaps.size() == 1);
    CHECK(capture::check_archive_health({dir.path}, 120).gaps.empty());

    // A newer file that is no capture: the cut one is no longer the newest.
    dir.file("daemonlogger.pcap.1700000300", "garbage, not a capture");
    h = capture::check_archive_health({dir.path}, 30);
    REQUIRE(h.files.size() == 4);
    CHECK(h.files[2].problem.find("truncated") != std::string::npos);
    CHECK_FALSE(h.files[3].problem.empty());
    CHECK(h.bad == 3);
}

TEST_CASE("stale: running too long, or writing nothing for too long") {
    test_support::temp_dir dir;
    const std::string file = dir.file("grant_x_.pcap", "");
    const std::int64_t now = capture::file_mtime(file);
    capture::record r{{"kind", "live"}, {"state", "running"}, {"file", file},
                      {"pid", std::to_string(::getpid())},
                      {"pstart", std::to_string(capture::process_start_time(::getpid()).value_or(0))}};
    r.set("started", capture::format_iso8601(now - 100));
    CHECK_FALSE(capture::stale_reason(r, now, 86400, 86400));
    r.set("started", capture::format_iso8601(now - 2 * 86400));
    auto why = capture::stale_reason(r, now, 86400, 86400);
    REQUIRE(why);
    CHECK(why->find("longer than the stale age") != std::string::npos);
    r.set("started", capture::format_iso8601(now - 100));
    why = capture::stale_reason(r, now + 2 * 86400 - 200, 86400 * 3, 86400);
    REQUIRE(why);
    CHECK(why->find("nothing written") != std::string::npos);
    r.set("state", "done");
    CHECK_FALSE(capture::stale_reason(r, now + 5 * 86400, 86400, 86400));  // not running
    r.set("state", "running");
    r.set("kind", "pull");
    CHECK_FALSE(capture::stale_reason(r, now + 5 * 86400, 86400, 86400));  // not a live capture
}
