// Owners of descriptors and mappings: closed once, moved safely, errors named.
#include "capture/fd.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

namespace {
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
}  // namespace

TEST_CASE("unique_fd closes once and moves ownership") {
    int raw = ::open("/dev/null", O_RDONLY);
    REQUIRE(raw >= 0);
    {
        capture::unique_fd a(raw);
        capture::unique_fd b(std::move(a));
        CHECK_FALSE(a);
        CHECK(b.get() == raw);
        capture::unique_fd c;
        c = std::move(b);
        CHECK(is_open(raw));
    }
    CHECK_FALSE(is_open(raw));
}

TEST_CASE("open_read names the path in its error") {
    CHECK_THROWS_WITH(capture::open_read("/nonexistent/x.pcap"), "/nonexistent/x.pcap: No such file or directory");
}

TEST_CASE("mapped_file maps regular files and refuses the rest") {
    char name[] = "/tmp/capture-fd.XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "pcap", 4) == 4);
    ::close(fd);
    {
        capture::mapped_file m(name);
        REQUIRE(m.size() == 4);
        CHECK(std::memcmp(m.data(), "pcap", 4) == 0);
        capture::mapped_file moved(std::move(m));
        CHECK(moved.size() == 4);
        CHECK(m.size() == 0);
    }
    std::ofstream(name, std::ios::trunc).close();
    CHECK(capture::mapped_file(name).size() == 0);
    std::remove(name);
    CHECK_THROWS_WITH(capture::mapped_file("/tmp"), "/tmp: is a directory");
    CHECK_THROWS_WITH(capture::mapped_file("/dev/null"), "/dev/null: not a regular file");
}
