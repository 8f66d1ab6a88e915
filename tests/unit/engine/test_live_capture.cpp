// The capture file writer: a valid pcap from the first instant, whole
// packets only, and the header libpcap itself would write.
#include "capture/engine/live_capture.hpp"
#include "capture/pcap/capture_reader.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace {

struct temp_file {
    std::string path;
    temp_file() {
        char tmpl[] = "/tmp/capture-live.XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
    }
    ~temp_file() { ::unlink(path.c_str()); }
};

// A writer of Ethernet packets to the file at path, through a buffer of
// buffer_bytes.
capture::pcap_file_out ethernet_file_out(const std::string& path, std::size_t buffer_bytes) {
    capture::unique_pcap dead(::pcap_open_dead(DLT_EN10MB, 65535));
    capture::unique_fd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    REQUIRE(fd);
    return capture::pcap_file_out(std::move(fd), capture::pcap_file_header_for(dead.get()), buffer_bytes);
}

}  // namespace

TEST_CASE("the header is libpcap's, for the handle's link type") {
    capture::unique_pcap dead(::pcap_open_dead(DLT_EN10MB, 1500));
    REQUIRE(dead);
    std::string header = capture::pcap_file_header_for(dead.get());
    REQUIRE(header.size() == 24);
    std::uint32_t magic, snaplen, linktype;
    std::memcpy(&magic, header.data(), 4);
    std::memcpy(&snaplen, header.data() + 16, 4);
    std::memcpy(&linktype, header.data() + 20, 4);
    CHECK(magic == 0xa1b2c3d4u);
    CHECK(snaplen == 1500);
    CHECK(linktype == 1);
}

TEST_CASE("packets written are read back, the file valid at every flush") {
    temp_file f;
    capture::pcap_file_out out = ethernet_file_out(f.path, 256);
    CHECK(out.bytes() == 24);
    std::uint8_t payload[100] = {};
    for (int i = 0; i < 10; ++i) {
        pcap_pkthdr h{};
        h.ts.tv_sec = 1700000000 + i;
        h.caplen = h.len = 60 + static_cast<bpf_u_int32>(i);
        REQUIRE(out.add(&h, payload));
    }
    CHECK(out.bytes() == 24 + 10 * 16 + (60 * 10 + 45));
    REQUIRE(out.close());
    CHECK(out.write_errno() == 0);
    capture::capture_reader reader(f.path);
    capture::packet_view p{};
    int n = 0;
    while (reader.next(p)) ++n;
    CHECK(n == 10);
}

TEST_CASE("a write that fails leaves whole packets and the error") {
    capture::unique_pcap dead(::pcap_open_dead(DLT_EN10MB, 65535));
    if (::access("/dev/full", W_OK) != 0) return;
    capture::unique_fd fd(::open("/dev/full", O_WRONLY | O_CLOEXEC));
    capture::pcap_file_out out(std::move(fd), capture::pcap_file_header_for(dead.get()));
    CHECK(out.write_errno() == ENOSPC);
    pcap_pkthdr h{};
    std::uint8_t payload[4] = {};
    h.caplen = h.len = 4;
    CHECK_FALSE(out.add(&h, payload));
    CHECK_FALSE(out.close());
}

TEST_CASE("a write cut short part way keeps whole packets, and counts exactly those") {
    // A file size limit stands in for a disk that fills in the middle of a write.
    temp_file f;
    capture::pcap_file_out out = ethernet_file_out(f.path, 4096);
    std::uint8_t payload[100] = {};
    int added = 0;
    bool closed;
    {
        test_support::file_size_limit full(3000);  // in the middle of a packet
        for (int i = 0; i < 100; ++i) {
            pcap_pkthdr h{};
            h.ts.tv_sec = 1700000000 + i;
            h.caplen = h.len = 100;
            if (!out.add(&h, payload)) break;
            ++added;
        }
        closed = out.close();
    }
    CHECK_FALSE(closed);
    CHECK(out.write_errno() == EFBIG);
    CHECK(added > static_cast<int>(out.packets()));
    capture::capture_reader reader(f.path);
    capture::packet_view p{};
    std::uint64_t n = 0;
    while (reader.next(p)) ++n;  // throws on a packet cut short
    CHECK(n == out.packets());
    CHECK(n == (3000 - 24) / 116);
    struct stat st {};
    REQUIRE(::stat(f.path.c_str(), &st) == 0);
    CHECK(static_cast<std::uint64_t>(st.st_size) == out.bytes());
}
