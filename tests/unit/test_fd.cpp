// Owners of descriptors and mappings: closed once, moved safely, errors named.
#include "capture/fd.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

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

TEST_CASE("a FIFO without a writer is refused at once, not waited for") {
    char dir[] = "/tmp/capture-fd.XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    std::string fifo = std::string(dir) + "/planted.pcap";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Before, open(2) waited for a writer that never came: the test would hang here.
    CHECK_THROWS_WITH(capture::mapped_file(fifo), fifo + ": not a regular file");
    capture::unique_fd fd = capture::open_read(fifo);
    CHECK((::fcntl(fd.get(), F_GETFL) & O_NONBLOCK) == 0);  // reads block as usual
    ::unlink(fifo.c_str());
    ::rmdir(dir);
}
