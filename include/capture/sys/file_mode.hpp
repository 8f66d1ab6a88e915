// The permissions of what the tools write: capture files and records get
// the configured file mode (file-mode in capture.conf, 0640 by default),
// the directories made for them the same mode with search permission
// wherever it grants reading (0640 gives 0750).
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <string_view>

namespace capture {

/// The mode of capture files and records when the configuration says nothing.
inline constexpr mode_t default_file_mode = 0640;

/// The mode an octal text such as "0640" or "640" asks for. Throws
/// usage_error, naming what, for anything that is not octal permission
/// bits, that does not let the owner read and write (a capture rewrites
/// its record in place when the disk is full), or that lets others write:
/// evidence must not be changed by whoever passes by.
inline mode_t parse_file_mode(std::string_view text, std::string_view what) {
    auto bad = [&](const std::string& why) {
        return usage_error(std::string(what) + ": '" + std::string(text) + "' " + why);
    };
    if (text.empty() || text.size() > 4) throw bad("is not an octal mode (like 0640)");
    mode_t mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') throw bad("is not an octal mode (like 0640)");
        mode = static_cast<mode_t>(mode * 8 + static_cast<mode_t>(c - '0'));
    }
    if (mode > 0777) throw bad("has bits beyond the permissions (setuid, setgid, sticky)");
    if ((mode & 0600) != 0600) throw bad("must let the owner read and write (0600 at least)");
    if (mode & 0002) throw bad("must not let others write");
    return mode;
}

/// The mode as four octal digits ("0640").
inline std::string format_file_mode(mode_t mode) {
    std::string out(4, '0');
    for (int i = 3; i >= 0; --i, mode >>= 3) out[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
    return out;
}

/// The mode of a directory made to hold files of file_mode: the same bits,
/// search permission wherever reading is granted, and all of them for the
/// owner, who creates the files (0640 gives 0750, 0644 gives 0755).
inline mode_t directory_mode_for(mode_t file_mode) {
    return static_cast<mode_t>((file_mode | ((file_mode & 0444) >> 2) | 0700) & 0777);
}

/// Sets the umask so that what is created from here on gets file_mode
/// (files) and directory_mode_for(file_mode) (directories), whatever the
/// umask the tool was started with.
inline void umask_for(mode_t file_mode) { ::umask(0777 & ~directory_mode_for(file_mode)); }

/// Makes the directory dir for files of file_mode, unless it is there.
/// Throws error("DIR: why").
inline void make_directory_for(const std::string& dir, mode_t file_mode) {
    if (::mkdir(dir.c_str(), directory_mode_for(file_mode)) != 0 && errno != EEXIST) throw system_failure(dir);
}

/// Sets the mode of the file at path, never through a symbolic link put in
/// its place (the file is opened without following one, then fchmod).
/// Throws error("PATH: why").
inline void set_file_mode(const std::string& path, mode_t mode) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd || ::fchmod(fd.get(), mode) != 0) throw system_failure(path);
}

}  // namespace capture
