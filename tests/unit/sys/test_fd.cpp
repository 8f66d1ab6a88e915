// Owners of descriptors and mappings: closed once, moved safely, errors
// named; a mapped file cut short reads as zeros instead of killing us, and
// says so; any other SIGBUS still kills.
#include "capture/sys/fd.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

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

namespace {
std::string file_of(std::size_t size) {
    char name[] = "/tmp/capture-fd-cut.XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    std::vector<char> bytes(size, 'x');
    REQUIRE(::write(fd, bytes.data(), size) == static_cast<ssize_t>(size));
    ::close(fd);
    return name;
}
}  // namespace

TEST_CASE("a mapped file cut short reads zeros past its new end and says how long it is") {
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::string name = file_of(8 * page);
    capture::mapped_file m(name);
    CHECK(m.path() == name);
    CHECK_FALSE(m.faulted());
    CHECK(m.length_now() == 8 * page);
    CHECK(m.holds(4 * page));
    REQUIRE(::truncate(name.c_str(), static_cast<off_t>(3 * page + 100)) == 0);
    // In the page of the new end: zeros, and no fault at all.
    CHECK(m.data()[3 * page + 200] == 0);
    CHECK_FALSE(m.faulted());
    // Past it: SIGBUS, answered with a zero page.
    CHECK(m.data()[5 * page + 1] == 0);
    CHECK(m.faulted());
    CHECK(m.data()[3 * page + 99] == 'x');  // what is left is still there
    CHECK(m.length_now() == 3 * page + 100);
    CHECK(m.holds(3 * page + 100));
    CHECK_FALSE(m.holds(3 * page + 101));
    CHECK_FALSE(m.holds(6 * page));
    // Unlinked after the cut: only what is before the page ahead of the
    // first fault is known to be the file's.
    ::unlink(name.c_str());
    CHECK(m.length_now() == 4 * page);
    capture::mapped_file moved(std::move(m));
    CHECK(moved.faulted());
    CHECK(moved.length_now() == 4 * page);
}

TEST_CASE("an unlinked mapped file keeps its bytes") {
    const std::string name = file_of(3 * 4096);
    capture::mapped_file m(name);
    ::unlink(name.c_str());
    CHECK(m.data()[3 * 4096 - 1] == 'x');
    CHECK_FALSE(m.faulted());
    CHECK(m.length_now() == 3 * 4096);
    CHECK(m.holds(2 * 4096));
}

TEST_CASE("a SIGBUS outside the mappings watched still kills, as it did") {
    const std::string name = file_of(4 * 4096);
    { capture::mapped_file watched(name); }  // the handler is installed
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        int fd = ::open(name.c_str(), O_RDONLY);
        void* p = ::mmap(nullptr, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED || ::truncate(name.c_str(), 0) != 0) ::_exit(2);
        volatile char c = static_cast<const char*>(p)[2 * 4096];
        (void)c;
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    // The action before ours takes it: by default death by SIGBUS; under
    // a sanitizer, its report and an abort. Never zeros and on as if nothing.
    CHECK_FALSE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGABRT) CHECK(WTERMSIG(status) == SIGBUS);
    ::unlink(name.c_str());
}
