// What the unit tests share: a scratch directory that cleans up after
// itself, and reading a file back whole.
#pragma once

#include <catch2/catch.hpp>

#include <boost/filesystem/operations.hpp>

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <csignal>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace test_support {

/// A fresh directory under /tmp, removed with everything in it at the end.
struct temp_dir {
    std::string path;
    temp_dir() {
        char pattern[] = "/tmp/capture-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path = pattern;
    }
    ~temp_dir() {
        boost::system::error_code ignored;  // a test's own failure is the message worth keeping
        boost::filesystem::remove_all(path, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    /// Writes content to NAME in the directory; returns its path.
    std::string file(const std::string& name, const std::string& content) const {
        std::string p = path + "/" + name;
        std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
        return p;
    }

    /// The names in the directory, sorted.
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (const auto& e : boost::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

/// Constructed once per test binary (a const at namespace scope): every
/// local time in the binary is UTC, so tests of names and windows do not
/// depend on the machine's zone.
struct utc_zone {
    utc_zone() {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
};

/// Writes the 24-byte header of a little-endian microsecond pcap file
/// (snaplen 65535) for the test captures built by hand.
inline void write_pcap_header(std::ostream& out, std::uint32_t linktype = 1) {
    for (std::uint32_t v : {0xa1b2c3d4u, 0x00040002u, 0u, 0u, 65535u, linktype})
        out.write(reinterpret_cast<const char*>(&v), 4);
}

/// While it lives, writes that would make a file larger than `bytes` fail
/// as on a disk that fills: write(2) writes what fits, then fails (EFBIG;
/// RLIMIT_FSIZE, with SIGXFSZ ignored meanwhile).
struct file_size_limit {
    explicit file_size_limit(rlim_t bytes) {
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
        old_handler = std::signal(SIGXFSZ, SIG_IGN);
        struct rlimit small = old;
        small.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    }
    ~file_size_limit() {
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

    struct rlimit old {};
    void (*old_handler)(int) = SIG_DFL;
};

/// The whole content of a file ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace test_support
