// Files published whole or not at all, never through a planted link.
//
// Records, sidecars and finished captures are written under a hidden
// temporary name in the same directory, created with O_EXCL|O_NOFOLLOW so
// a symbolic link planted there (pointing at /etc/passwd, say) is never
// followed, then renamed over the final name: a reader sees the old file or
// the new one, and several analysts writing at once never lose an update
// to a half-written file (stenotype publishes its files the same way).
#pragma once

#include "capture/error.hpp"
#include "capture/fd.hpp"

#include <boost/filesystem/path.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <string_view>

namespace capture {

/// The directory part of path ("." when there is none).
inline std::string directory_of(const std::string& path) {
    std::string dir = boost::filesystem::path(path).parent_path().string();
    return dir.empty() ? "." : dir;
}

/// The last component of path.
inline std::string file_name_of(const std::string& path) {
    return boost::filesystem::path(path).filename().string();
}

/// Writes content to path atomically: a hidden temporary file in the same
/// directory, created with O_EXCL|O_NOFOLLOW (never through a planted
/// link) with mode (less the umask), flushed to disk, then renamed over
/// path. Throws error("PATH: why").
inline void write_file_atomically(const std::string& path, std::string_view content, mode_t mode = 0666) {
    static std::atomic<unsigned> counter{0};
    const std::string dir = directory_of(path);
    const std::string base = file_name_of(path);
    std::string temp;
    unique_fd fd;
    for (int attempt = 0; !fd; ++attempt) {
        temp = dir + "/." + base + ".tmp" + std::to_string(::getpid()) + "." + std::to_string(counter++);
        int raw = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (raw >= 0) fd.reset(raw);
        else if (errno != EEXIST || attempt == 100) throw system_failure(path);
    }
    auto fail = [&](int err) {
        fd.reset();
        ::unlink(temp.c_str());
        return system_failure(path, err);
    };
    for (std::size_t done = 0; done < content.size();) {
        ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw fail(errno);
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) throw fail(errno);
    if (::close(fd.release()) != 0) throw fail(errno);
    if (::rename(temp.c_str(), path.c_str()) != 0) throw fail(errno);
}

}  // namespace capture
