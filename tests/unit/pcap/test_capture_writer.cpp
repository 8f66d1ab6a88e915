// capture_writer.hpp: what is written reads back (through our reader) as
// it was given, in pcap (us, ns) and pcapng; files appear only when
// committed; flush() leaves a valid file; snapshot lengths follow what was
// written; records larger than the buffer; what reached the file is kept,
// whole records only, when a write fails; a write-behind thread changes
// none of it; a tap sees exactly the file's bytes, or the writer says it
// did not.
#include "capture/pcap/capture_writer.hpp"
#include "capture/sys/digest.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace capture;

namespace {

// A fresh directory, removed with what is in it.
using test_support::temp_dir;

std::vector<std::uint8_t> payload(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
    return v;
}

struct packet {
    timestamp ts;
    std::uint32_t origlen;
    std::uint32_t linktype;
    std::vector<std::uint8_t> data;
};

std::vector<packet> read_all(const std::string& path) {
    capture_reader r(path);
    std::vector<packet> out;
    packet_view p;
    while (r.next(p))
        out.push_back(packet{p.ts, p.origlen, r.interfaces()[p.interface].linktype,
                             std::vector<std::uint8_t>(p.data, p.data + p.caplen)});
    return out;
}

// Options with the smallest buffer a writer takes (64 KiB), so that a
// few packets fill it and larger ones go straight to the file.
writer_options small_buffer(output_format format, bool behind = false) {
    writer_options o;
    o.format = format;
    o.buffer_size = 65536;
    o.write_behind = behind;
    return o;
}

std::uint32_t u32_at(const std::string& path, std::size_t offset) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::uint32_t v = 0;
    in.read(reinterpret_cast<char*>(&v), 4);
    return v;
}

}  // namespace

TEST_CASE("pcap in microseconds reads back as written", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/out.pcap";
    auto a = payload(60, 1), b = payload(1514, 2);
    {
        capture_writer w = capture_writer::to_file(path);
        CHECK(w.add_interface(1, 65535) == 0);
        w.write(timestamp{1700000000, 123456789}, a.data(), 60, 60);
        w.write(timestamp{1700000001, 5000}, b.data(), 1514, 1600);
        CHECK(w.packets() == 2);
        w.commit();
    }
    capture_reader r(path);
    CHECK(r.format() == file_format::pcap);
    CHECK_FALSE(r.byte_swapped());
    CHECK(r.version_major() == 2);
    CHECK(r.version_minor() == 4);
    CHECK(r.interfaces().at(0).linktype == 1);
    CHECK(r.interfaces().at(0).snaplen == 65535);
    auto got = read_all(path);
    REQUIRE(got.size() == 2);
    CHECK(got[0].ts == timestamp{1700000000, 123456000});  // cut to microseconds, as wiretap does
    CHECK(got[0].data == a);
    CHECK(got[1].ts == timestamp{1700000001, 5000});
    CHECK(got[1].origlen == 1600);
    CHECK(got[1].data == b);
    CHECK(dir.entries() == std::vector<std::string>{"out.pcap"});  // no temporary file left
}

TEST_CASE("an empty packet may come without a pointer", "[writer]") {
    // A pull's copies of nothing but empty packets have no storage: UBSan
    // (the sanitizer build) caught memcpy being handed that null pointer.
    temp_dir dir;
    const std::string path = dir.path + "/empty.pcapng";
    writer_options o;
    o.format = output_format::pcapng;
    {
        capture_writer w = capture_writer::to_file(path, o);
        w.add_interface(1, 0);
        w.write(timestamp{1700000000, 0}, nullptr, 0, 60);
        w.commit();
    }
    auto got = read_all(path);
    REQUIRE(got.size() == 1);
    CHECK(got[0].data.empty());
    CHECK(got[0].origlen == 60);
}

TEST_CASE("pcap in nanoseconds keeps nanoseconds", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/ns.pcap";
    auto a = payload(42, 3);
    writer_options o;
    o.nanoseconds = true;
    capture_writer w = capture_writer::to_file(path, o);
    w.add_interface(101, 0);  // no snaplen given: 262144, as wiretap writes
    w.write(timestamp{1, 999999999}, a.data(), 42, 42);
    w.commit();
    capture_reader r(path);
    CHECK(r.format() == file_format::pcap_ns);
    CHECK(r.interfaces().at(0).snaplen == standard_max_snaplen);
    auto got = read_all(path);
    REQUIRE(got.size() == 1);
    CHECK(got[0].ts == timestamp{1, 999999999});
    CHECK(got[0].linktype == 101);
}

TEST_CASE("pcap holds one link type, with the largest snaplen", "[writer]") {
    temp_dir dir;
    capture_writer w = capture_writer::to_file(dir.path + "/x.pcap");
    w.add_interface(1, 1500);
    CHECK(w.add_interface(1, 9000) == 0);
    CHECK(w.pcap_snaplen() == 9000);
    CHECK_THROWS_AS(w.add_interface(113, 65535), error);
}

TEST_CASE("pcapng: one interface block per link type and snaplen, nanoseconds, padding", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/out.pcapng";
    writer_options o;
    o.format = output_format::pcapng;
    o.nanoseconds = true;
    auto a = payload(61, 4), b = payload(3, 5), c = payload(64, 6);
    {
        capture_writer w = capture_writer::to_file(path, o);
        std::uint32_t eth = w.add_interface(1, 65535);
        std::uint32_t sll = w.add_interface(113, 262144);
        CHECK(w.add_interface(1, 65535) == eth);
        CHECK(w.add_interface(1, 1500) == 2);  // another snaplen: another block
        w.write(timestamp{1700000000, 1}, a.data(), 61, 70, eth);
        w.write(timestamp{1700000000, 2}, b.data(), 3, 3, sll);
        w.write(timestamp{1700000003, 999999999}, c.data(), 64, 64, eth);
        CHECK_THROWS_AS(w.write(timestamp{}, c.data(), 1, 1, 7), error);
        w.commit();
    }
    capture_reader r(path);
    CHECK(r.format() == file_format::pcapng);
    REQUIRE(r.interfaces().size() == 3);
    CHECK(r.interfaces()[0].linktype == 1);
    CHECK(r.interfaces()[1].linktype == 113);
    CHECK(r.interfaces()[2].snaplen == 1500);
    CHECK(r.interfaces()[0].ts_digits == 9);
    auto got = read_all(path);
    REQUIRE(got.size() == 3);
    CHECK(got[0].ts == timestamp{1700000000, 1});
    CHECK(got[0].origlen == 70);
    CHECK(got[0].data == a);
    CHECK(got[1].linktype == 113);
    CHECK(got[1].data == b);
    CHECK(got[2].ts == timestamp{1700000003, 999999999});
    CHECK(got[2].data == c);
}

TEST_CASE("pcapng in microseconds needs no if_tsresol", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/us.pcapng";
    writer_options o;
    o.format = output_format::pcapng;
    auto a = payload(10, 7);
    capture_writer w = capture_writer::to_file(path, o);
    w.write(timestamp{5, 7000}, a.data(), 10, 10, w.add_interface(1, 0));
    w.commit();
    capture_reader r(path);
    CHECK(r.interfaces().at(0).ts_digits == 6);
    CHECK(read_all(path).at(0).ts == timestamp{5, 7000});
}

TEST_CASE("nothing appears under the final name until commit; abandon removes the temporary", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/late.pcap";
    auto a = payload(100, 8);
    {
        capture_writer w = capture_writer::to_file(path);
        const std::string temp = w.temp_path();
        CHECK(temp.rfind(dir.path + "/.late.pcap." + std::to_string(::getpid()) + "-", 0) == 0);
        auto owner = temporary_owner_of(file_name_of(temp));  // atomic_file.hpp's one form of name
        REQUIRE(owner);
        CHECK(owner->pid == ::getpid());
        CHECK_FALSE(temporary_abandoned(file_name_of(temp)));
        struct stat st {};
        REQUIRE(::lstat(temp.c_str(), &st) == 0);
        mode_t mask = ::umask(0);
        ::umask(mask);
        CHECK((st.st_mode & 0777) == (0640 & ~mask));
        w.add_interface(1, 65535);
        w.write(timestamp{1, 0}, a.data(), 100, 100);
        w.flush();
        CHECK(::access(path.c_str(), F_OK) != 0);
        // Flushed: the partial file is a valid capture already.
        CHECK(read_all(temp).size() == 1);
        // Destroyed without commit: the temporary goes.
    }
    CHECK(dir.entries().empty());
}

TEST_CASE("flush raises the snaplen to the largest caplen written", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/snap.pcap";
    auto big = payload(3000, 9);
    capture_writer w = capture_writer::to_file(path);
    w.add_interface(1, 1500);
    w.write(timestamp{1, 0}, big.data(), 3000, 3000);
    w.flush();
    CHECK(u32_at(w.temp_path(), 16) == 3000);
    w.commit();
    CHECK(u32_at(path, 16) == 3000);
    CHECK(read_all(path).at(0).data == big);
}

TEST_CASE("pcapng interface snaplen raised too", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/snap.pcapng";
    writer_options o;
    o.format = output_format::pcapng;
    auto big = payload(2001, 10);
    capture_writer w = capture_writer::to_file(path, o);
    w.write(timestamp{1, 0}, big.data(), 2001, 2001, w.add_interface(1, 100));
    w.flush();
    CHECK(w.add_interface(1, 100) == 0);  // still the same interface once raised in the file
    w.commit();
    capture_reader r(path);
    CHECK(r.interfaces().at(0).snaplen == 2001);
    CHECK(read_all(path).at(0).data == big);
}

TEST_CASE("records larger than the buffer go straight through", "[writer]") {
    temp_dir dir;
    auto big = payload(200000, 11), small = payload(17, 12);
    for (auto format : {output_format::pcap, output_format::pcapng}) {
        const std::string path = dir.path + (format == output_format::pcap ? "/big.pcap" : "/big.pcapng");
        capture_writer w = capture_writer::to_file(path, small_buffer(format));
        std::uint32_t i = w.add_interface(1, 262144);
        w.write(timestamp{1, 0}, small.data(), 17, 17, i);
        w.write(timestamp{2, 0}, big.data(), 200001 - 1, 200000, i);
        w.write(timestamp{3, 0}, small.data(), 17, 17, i);
        CHECK(w.bytes() > 200000);
        w.commit();
        auto got = read_all(path);
        REQUIRE(got.size() == 3);
        CHECK(got[0].data == small);
        CHECK(got[1].data == big);
        CHECK(got[2].data == small);
    }
}

TEST_CASE("space reserved up front is given back at commit; a reserve too large is only a hint", "[writer]") {
    temp_dir dir;
    auto data = payload(1000, 5);
    for (std::uint64_t reserve : {std::uint64_t{64} << 20, std::uint64_t{1} << 60}) {
        const std::string path = dir.path + "/reserved.pcap";
        writer_options o;
        o.preallocate = reserve;
        capture_writer w = capture_writer::to_file(path, o);
        w.add_interface(1, 262144);
        for (std::uint32_t i = 0; i < 100; ++i) w.write(timestamp{i, 0}, data.data(), 1000, 1000);
        w.commit();
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK(st.st_size == 24 + 100 * (16 + 1000));
        // Not 64 MiB: what was not written went back (a block or two of slack).
        CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 < static_cast<std::uint64_t>(st.st_size) + (1 << 20));
        auto got = read_all(path);
        REQUIRE(got.size() == 100);
        CHECK(got[99].data == data);
    }
}

TEST_CASE("replace=false never replaces an existing file", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/exists.pcap";
    { std::ofstream(path) << "precious"; }
    writer_options o;
    o.replace = false;
    capture_writer w = capture_writer::to_file(path, o);
    w.add_interface(1, 65535);
    CHECK_THROWS_WITH(w.commit(), Catch::Contains(path) && Catch::Contains("exists"));
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    CHECK(text == "precious");
    CHECK(dir.entries() == std::vector<std::string>{"exists.pcap"});
}

TEST_CASE("replace=true replaces, and a writer that cannot create names the path", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/again.pcap";
    { std::ofstream(path) << "old"; }
    capture_writer w = capture_writer::to_file(path);
    w.add_interface(1, 65535);
    w.commit();
    CHECK(capture_reader(path).format() == file_format::pcap);
    CHECK_THROWS_WITH(capture_writer::to_file(dir.path + "/no/such/dir/x.pcap"),
                      Catch::Contains("no/such/dir/x.pcap") && Catch::Contains("No such file"));
}

TEST_CASE("replace=true over a running pull's link: the file takes the name, nothing else is left", "[writer]") {
    // A pull's final name is a symbolic link to its temporary file while it
    // runs; the commit puts the file there by exchanging the two names
    // (ext4 then does not write the file back on the caller's clock).
    temp_dir dir;
    const std::string path = dir.path + "/pull.pcap";
    capture_writer w = capture_writer::to_file(path);
    REQUIRE(::symlink(w.temp_path().c_str(), path.c_str()) == 0);
    w.add_interface(1, 65535);
    const auto data = payload(100, 3);
    w.write(timestamp{1, 0}, data.data(), 100, 100);
    w.commit();
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(read_all(path).size() == 1);
    CHECK(dir.entries() == std::vector<std::string>{"pull.pcap"});
}

TEST_CASE("replace=true never puts a capture in place of a directory", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/taken";
    REQUIRE(::mkdir(path.c_str(), 0700) == 0);
    { std::ofstream(path + "/inside") << "kept"; }
    capture_writer w = capture_writer::to_file(path);
    w.add_interface(1, 65535);
    CHECK_THROWS_WITH(w.commit(), Catch::Contains(path));
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK(test_support::slurp(path + "/inside") == "kept");
    CHECK(dir.entries() == std::vector<std::string>{"taken"});
}

TEST_CASE("a writer moves without losing its file", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/moved.pcap";
    auto a = payload(30, 13);
    capture_writer w = capture_writer::to_file(path);
    w.add_interface(1, 65535);
    w.write(timestamp{1, 0}, a.data(), 30, 30);
    capture_writer v = std::move(w);
    v.commit();
    CHECK(read_all(path).size() == 1);
    CHECK(dir.entries().size() == 1);
}

TEST_CASE("after a failed write, keep_written publishes the whole records that reached the file", "[writer]") {
    // A file size limit stands in for a full disk. With a write-behind
    // thread the failure is told at a later write, or at the flush.
    const bool behind = GENERATE(false, true);
    temp_dir dir;
    auto a = payload(1000, 14), big = payload(70000, 15);
    for (auto format : {output_format::pcap, output_format::pcapng}) {
        for (bool oversized : {false, true}) {
            const std::string path = dir.path + "/kept" + std::to_string(oversized) +
                                     (format == output_format::pcap ? ".pcap" : ".pcapng");
            capture_writer w = capture_writer::to_file(path, small_buffer(format, behind));
            std::uint32_t i = w.add_interface(1, 262144);
            std::uint64_t written = 0;
            bool failed = false;
            {
                test_support::file_size_limit full(150001);  // inside a record, whichever the format
                try {
                    for (; written < 1000; ++written) {
                        const auto& data = oversized && written % 2 ? big : a;
                        w.write(timestamp{static_cast<std::int64_t>(written), 0}, data.data(),
                                static_cast<std::uint32_t>(data.size()), static_cast<std::uint32_t>(data.size()), i);
                    }
                    w.flush();
                } catch (const error& e) {
                    failed = true;
                    CHECK_THAT(e.what(), Catch::Contains(path));
                }
            }
            REQUIRE(failed);
            std::uint64_t kept = w.keep_written();
            CHECK(kept > 0);
            CHECK(kept <= written);  // never one that did not reach the file whole
            auto got = read_all(path);  // throws if a record were cut short
            CHECK(got.size() == kept);
            for (std::size_t k = 0; k < got.size(); ++k) {
                CHECK(got[k].ts == timestamp{static_cast<std::int64_t>(k), 0});
                CHECK(got[k].data == (oversized && k % 2 ? big : a));
            }
            struct stat st {};
            REQUIRE(::stat(path.c_str(), &st) == 0);
            CHECK(static_cast<std::uint64_t>(st.st_size) == w.bytes());
            CHECK(static_cast<std::uint64_t>(st.st_size) <= 150001);
        }
    }
    CHECK(dir.entries().size() == 4);  // no temporary file left
}

TEST_CASE("keep_written with nothing valid in the file removes it and says so", "[writer]") {
    temp_dir dir;
    const std::string path = dir.path + "/nothing.pcap";
    capture_writer w = capture_writer::to_file(path);
    w.add_interface(1, 65535);  // the header is still in the buffer
    CHECK_THROWS_WITH(w.keep_written(), Catch::Contains(".nothing.pcap."));
    CHECK(dir.entries().empty());
    capture_writer out = capture_writer::to_stdout();
    CHECK_THROWS_WITH(out.keep_written(), Catch::Contains("standard output: nothing written to keep"));
}

TEST_CASE("a write-behind thread writes the same bytes as the caller's thread", "[writer]") {
    // Seeded sizes from empty to larger than the buffer, a flush part way
    // (the file must then be valid as far as it goes), and packets taken
    // back both from the buffer and after going straight to the file.
    const output_format format = GENERATE(output_format::pcap, output_format::pcapng);
    temp_dir dir;
    auto data = payload(150000, 21);
    auto write_all = [&](bool behind, std::uint64_t after) {
        const std::string path = dir.path + (behind ? "/behind" + std::to_string(after) : "/inline");
        writer_options o = small_buffer(format, behind);
        o.write_behind_after = after;  // the thread started part way
        capture_writer w = capture_writer::to_file(path, o);
        std::uint32_t i = w.add_interface(1, 65535);
        std::uint32_t seed = 7;
        for (std::uint32_t n = 0; n < 3000; ++n) {
            seed = seed * 1103515245u + 12345u;
            std::uint32_t caplen = (seed >> 8) % 1600;
            if (n % 500 == 250) caplen = 100000 + n;  // larger than the buffer
            w.write(timestamp{n, n}, data.data(), caplen, caplen, i);
            if (n % 700 == 3 || n % 500 == 250) w.retract_last(caplen);
            if (n == 1500) {
                w.flush();
                CHECK(read_all(w.temp_path()).size() == w.packets());
            }
        }
        w.commit();
        return path;
    };
    const std::string inline_path = write_all(false, 0), behind_path = write_all(true, 0);
    const std::string inline_bytes = test_support::slurp(inline_path), behind_bytes = test_support::slurp(behind_path);
    CHECK(inline_bytes.size() > 2000000);
    CHECK(inline_bytes == behind_bytes);
    CHECK(test_support::slurp(write_all(true, 500000)) == inline_bytes);
    CHECK(read_all(behind_path).size() == 3000 - 5 - 6);  // 5 small and 6 large taken back
}

TEST_CASE("add_named_interface: an interface of its own, named, even for the same link type and snaplen") {
    temp_dir dir;
    for (bool ns : {false, true}) {
        writer_options o;
        o.format = output_format::pcapng;
        o.nanoseconds = ns;
        const std::string path = dir.path + "/named" + (ns ? "-ns" : "") + ".pcapng";
        capture_writer w = capture_writer::to_file(path, o);
        CHECK(w.add_named_interface(1, 65535, "sensor-1") == 0);
        CHECK(w.add_named_interface(1, 65535, "s2") == 1);
        CHECK(w.add_named_interface(1, 65535, "") == 2);
        CHECK(w.add_interface(1, 65535) == 3);  // a named one is never matched
        CHECK(w.add_interface(1, 65535) == 3);
        const std::uint8_t data[70000] = {};
        w.write(timestamp{1700000000, 123456789}, data, 100, 100, 1);
        w.write(timestamp{1700000001, 5000}, data, 70000, 70000, 0);  // raises its snaplen
        w.commit();
        capture_reader r(path);
        packet_view p;
        REQUIRE(r.next(p));
        CHECK(p.interface == 1);
        CHECK(p.ts.nsec == (ns ? 123456789u : 123456000u));
        REQUIRE(r.next(p));
        CHECK(p.interface == 0);
        CHECK_FALSE(r.next(p));
        REQUIRE(r.interfaces().size() == 4);
        CHECK(r.interfaces()[0].name == "sensor-1");
        CHECK(r.interfaces()[0].snaplen == 70000);
        CHECK(r.interfaces()[1].name == "s2");
        CHECK(r.interfaces()[2].name.empty());
        CHECK(r.interfaces()[0].ts_digits == (ns ? 9 : 6));
    }
    // pcap names nothing: the same interface.
    capture_writer w = capture_writer::to_file(dir.path + "/named.pcap");
    CHECK(w.add_named_interface(1, 65535, "a") == 0);
    CHECK(w.add_named_interface(1, 65535, "b") == 0);
}

namespace {

// The SHA-256 of the file at path, read back.
std::string sha256_of(const std::string& path) {
    static const digest_algorithm sha256("sha256");
    return hex_digest_of_file(path, sha256.md());
}

std::uint64_t size_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

TEST_CASE("a tap's digest is the digest of the file on disk", "[writer][tap]") {
    // Small packets through the buffer, packets larger than it straight to
    // the file, a flush part way, packets taken back from the buffer; on
    // the caller's thread and on a write-behind thread.
    const output_format format = GENERATE(output_format::pcap, output_format::pcapng);
    const bool behind = GENERATE(false, true);
    const bool nanoseconds = GENERATE(false, true);
    const std::uint64_t after = GENERATE(0, 400000);  // with a thread: from the start, or started part way
    temp_dir dir;
    const std::string path = dir.path + "/tapped";
    auto data = payload(150000, 31);
    digest_tap tap;
    writer_options o = small_buffer(format, behind);
    o.nanoseconds = nanoseconds;
    o.write_behind_after = after;
    capture_writer w = capture_writer::to_file(path, o);
    w.tap(&tap);
    std::uint32_t i = w.add_interface(1, 262144);
    std::uint32_t seed = 3;
    for (std::uint32_t n = 0; n < 2000; ++n) {
        seed = seed * 1103515245u + 12345u;
        std::uint32_t caplen = (seed >> 8) % 1600;
        if (n % 400 == 200) caplen = 100000 + n;  // larger than the buffer
        w.write(timestamp{n, n}, data.data(), caplen, caplen, i);
        if (n % 300 == 7) w.retract_last(caplen);  // still in the buffer
        if (n == 1000) w.flush();
    }
    if (format == output_format::pcapng) w.add_interface(101, 0);  // a block after packets
    w.commit();
    REQUIRE(w.tap_saw_whole_file());
    CHECK(tap.bytes() == size_of(path));
    CHECK(tap.bytes() == w.bytes());
    CHECK(tap.hex() == sha256_of(path));
}

TEST_CASE("a tap on a writer that wrote nothing but its header", "[writer][tap]") {
    const output_format format = GENERATE(output_format::pcap, output_format::pcapng);
    temp_dir dir;
    const std::string path = dir.path + "/empty";
    digest_tap tap;
    capture_writer w = capture_writer::to_file(path, small_buffer(format, true));
    w.tap(&tap);
    w.add_interface(1, 65535);
    w.commit();
    REQUIRE(w.tap_saw_whole_file());
    CHECK(tap.bytes() == size_of(path));
    CHECK(tap.hex() == sha256_of(path));
}

TEST_CASE("a snapshot length raised while its header is still in the buffer: the tap sees it raised", "[writer][tap]") {
    const output_format format = GENERATE(output_format::pcap, output_format::pcapng);
    const bool behind = GENERATE(false, true);
    temp_dir dir;
    const std::string path = dir.path + "/raised";
    auto data = payload(3000, 61);
    digest_tap tap;
    capture_writer w = capture_writer::to_file(path, small_buffer(format, behind));
    w.tap(&tap);
    std::uint32_t i = w.add_interface(1, 1500);
    w.write(timestamp{1, 0}, data.data(), 3000, 3000, i);
    w.commit();
    const std::uint32_t snaplen = format == output_format::pcap ? u32_at(path, 16) : capture_reader(path).interfaces().at(0).snaplen;
    CHECK(snaplen == 3000);
    REQUIRE(w.tap_saw_whole_file());
    CHECK(tap.hex() == sha256_of(path));
}

TEST_CASE("a writer says when its tap did not see the file as it is", "[writer][tap]") {
    // Each of these changes bytes the tap saw, or it missed some: whoever
    // wanted the digest must then read the file.
    const output_format format = GENERATE(output_format::pcap, output_format::pcapng);
    const bool behind = GENERATE(false, true);
    temp_dir dir;
    auto data = payload(100000, 41);
    auto check_fallback = [&](capture_writer& w, digest_tap& tap, const std::string& path) {
        CHECK_FALSE(w.tap_saw_whole_file());
        // Not only said: the tap's digest is indeed not the file's.
        CHECK(tap.hex() != sha256_of(path));
    };
    SECTION("a snapshot length raised in the header after it was written") {
        const std::string path = dir.path + "/raised";
        digest_tap tap;
        capture_writer w = capture_writer::to_file(path, small_buffer(format, behind));
        w.tap(&tap);
        std::uint32_t i = w.add_interface(1, 1500);
        for (std::uint32_t n = 0; n < 80; ++n) w.write(timestamp{n, 0}, data.data(), 1000, 1000, i);  // the header goes
        w.write(timestamp{80, 0}, data.data(), 3000, 3000, i);  // more than the snaplen said
        w.commit();
        check_fallback(w, tap, path);
    }
    SECTION("a packet larger than the buffer taken back after it reached the file") {
        const std::string path = dir.path + "/retracted";
        digest_tap tap;
        capture_writer w = capture_writer::to_file(path, small_buffer(format, behind));
        w.tap(&tap);
        std::uint32_t i = w.add_interface(1, 262144);
        w.write(timestamp{1, 0}, data.data(), 100, 100, i);
        w.write(timestamp{2, 0}, data.data(), 90000, 90000, i);
        w.retract_last(90000);
        w.commit();
        check_fallback(w, tap, path);
    }
    SECTION("a failed write whose file is kept, cut after its last whole record") {
        const std::string path = dir.path + "/kept";
        digest_tap tap;
        capture_writer w = capture_writer::to_file(path, small_buffer(format, behind));
        w.tap(&tap);
        std::uint32_t i = w.add_interface(1, 262144);
        {
            test_support::file_size_limit full(150001);
            CHECK_THROWS_AS(
                [&] {
                    for (std::uint32_t n = 0; n < 1000; ++n) w.write(timestamp{n, 0}, data.data(), 1000, 1000, i);
                    w.flush();
                }(),
                error);
        }
        CHECK(w.keep_written() > 0);
        CHECK_FALSE(w.tap_saw_whole_file());
    }
    SECTION("a tap set after the writer wrote") {
        const std::string path = dir.path + "/late";
        digest_tap tap;
        capture_writer w = capture_writer::to_file(path, small_buffer(format, behind));
        std::uint32_t i = w.add_interface(1, 262144);
        w.write(timestamp{1, 0}, data.data(), 70000, 70000, i);  // straight to the file
        w.tap(&tap);
        w.write(timestamp{2, 0}, data.data(), 100, 100, i);
        w.commit();
        check_fallback(w, tap, path);
    }
    SECTION("no tap at all") {
        capture_writer w = capture_writer::to_file(dir.path + "/untapped", small_buffer(format, behind));
        w.add_interface(1, 262144);
        w.commit();
        CHECK_FALSE(w.tap_saw_whole_file());
    }
}

TEST_CASE("a writer moved keeps its tap", "[writer][tap]") {
    temp_dir dir;
    const std::string path = dir.path + "/moved.pcap";
    auto data = payload(5000, 51);
    digest_tap tap;
    capture_writer first = capture_writer::to_file(path, small_buffer(output_format::pcap, true));
    first.tap(&tap);
    std::uint32_t i = first.add_interface(1, 65535);
    for (std::uint32_t n = 0; n < 100; ++n) first.write(timestamp{n, 0}, data.data(), 5000, 5000, i);
    capture_writer w = std::move(first);
    for (std::uint32_t n = 100; n < 200; ++n) w.write(timestamp{n, 0}, data.data(), 5000, 5000, i);
    w.commit();
    REQUIRE(w.tap_saw_whole_file());
    CHECK(tap.hex() == sha256_of(path));
}
