// Whether a capture directory that already exists can hold captures, and,
// for root, making an ordinary one usable by the capture user.
//
// `mkdir d; sudo cap-start --dir d ...` must work: the capture runs as an
// unprivileged user that cannot write into a directory its caller just
// made. Root may give such a directory the capture group and mode 2770
// (what cap-start gives the directories it creates), but only one that is
// plainly meant for captures: a real directory (not a link), owned by root
// or by the caller, holding nothing but capture files and records. Any
// other directory is left alone, and the message says the command that
// fixes it. A directory that can never hold a file (a pseudo filesystem, a
// read-only one, not a directory) is named with why.
#pragma once

#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/file_mode.hpp"
#include "capture/sys/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace capture {

namespace detail {

// The name of a pseudo filesystem (one that holds no files of ours), or
// nothing for a real one.
inline std::optional<std::string> pseudo_filesystem(const std::string& dir) {
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return std::nullopt;
    switch (static_cast<unsigned long>(fs.f_type)) {
    case 0x9fa0UL: return "proc";
    case 0x62656572UL: return "sysfs";
    case 0x1cd1UL: return "devpts";
    case 0x27e0ebUL: return "cgroup";
    case 0x63677270UL: return "cgroup2";
    case 0x64626720UL: return "debugfs";
    case 0x73636673UL: return "securityfs";
    case 0x74726163UL: return "tracefs";
    case 0xcafe4a11UL: return "bpf";
    case 0x6e736673UL: return "nsfs";
    case 0x42494e4dUL: return "binfmt_misc";
    case 0xde5e81e4UL: return "efivarfs";
    case 0x50495045UL: return "pipefs";
    default: return std::nullopt;
    }
}

// A name a capture directory holds: capture files, records, sidecars and
// the tools' hidden temporaries.
inline bool capture_dir_entry(const std::string& name) {
    if (name == "." || name == "..") return true;
    auto ends = [&](const char* s) {
        std::string t = s;
        return name.size() >= t.size() && name.compare(name.size() - t.size(), t.size(), t) == 0;
    };
    if (name[0] == '.') return name.find(".pcap") != std::string::npos;  // a temporary of ours
    return ends(".pcap") || ends(".pcapng") || ends(".record") || name.find(".pcap.") != std::string::npos;
}

// Whether dir holds nothing but what a capture directory holds.
inline bool holds_only_captures(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return false;
    bool only = true;
    while (const dirent* e = ::readdir(d))
        if (!capture_dir_entry(e->d_name)) {
            only = false;
            break;
        }
    ::closedir(d);
    return only;
}

// 'text' quoted for a shell, when it needs it.
inline std::string shell_word(const std::string& text) {
    bool plain = !text.empty();
    for (unsigned char c : text)
        if (!(std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '+' || c == ':' || c == ',' || c == '@'))
            plain = false;
    if (plain) return text;
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace detail

/// The mode of a capture directory made for files of file_mode: as
/// directory_mode_for, and for root also setgid and writable by the
/// capture group (the capture, which runs as a member of it, creates its
/// files there, and they keep that group).
inline mode_t capture_dir_mode(mode_t file_mode, bool as_root) {
    mode_t mode = directory_mode_for(file_mode);
    return as_root ? mode | 02070 : mode;
}

/// Creates the capture directory when it is missing, with
/// capture_dir_mode(file_mode, as_root) (2770 for root, 0750 for anyone
/// else with the default 0640), owned for root by root and the capture
/// group. Parents are made 0755. Throws error.
inline void ensure_capture_dir(const std::string& dir, bool as_root, gid_t group, mode_t file_mode = default_file_mode) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw error(dir + ": not a directory");
        return;
    }
    if (errno != ENOENT) throw system_failure(dir);
    for (std::size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1)) {
        std::string parent = dir.substr(0, slash);
        if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) throw system_failure(parent);
    }
    mode_t mode = capture_dir_mode(file_mode, as_root);
    if (!as_root) {
        if (::mkdir(dir.c_str(), mode & 0777) != 0 && errno != EEXIST) throw system_failure(dir);
        return;
    }
    // Root's directory appears whole or not at all: made under a hidden
    // name, given its group and mode, then renamed into place. A mkdir
    // then chown would let a second cap-start starting at the same moment
    // see it with root's group, "make it usable" and say so.
    std::string base = dir;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    const std::size_t slash = base.rfind('/');
    std::string temp = (slash == std::string::npos ? std::string() : base.substr(0, slash + 1)) + "." +
                       base.substr(slash == std::string::npos ? 0 : slash + 1) + ".XXXXXX";
    if (!::mkdtemp(temp.data())) throw system_failure(dir);
    auto give_up = [&](const std::string& what) {
        int saved = errno;
        ::rmdir(temp.c_str());
        errno = saved;
        throw system_failure(what);
    };
    if (::chown(temp.c_str(), 0, group) != 0 || ::chmod(temp.c_str(), mode) != 0) give_up(dir);
    int renamed = ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, base.c_str(), RENAME_NOREPLACE);
    // A filesystem without RENAME_NOREPLACE: rename(2) still refuses a
    // target that holds anything, and an empty one it replaces is the same.
    if (renamed != 0 && errno == EINVAL) renamed = ::rename(temp.c_str(), base.c_str());
    if (renamed != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) give_up(dir);
        ::rmdir(temp.c_str());  // another process made it first, whole
    }
}

/// Throws error("DIR: why") when the existing directory dir can never hold
/// a capture: not a directory, on a pseudo filesystem (/proc, /sys ...), or
/// on a read-only filesystem. Returns quietly when dir does not exist.
inline void check_capture_dir_usable(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        throw system_failure(dir);
    }
    if (!S_ISDIR(st.st_mode)) throw error(dir + ": not a directory, so it cannot be a capture directory");
    if (auto fs = detail::pseudo_filesystem(dir))
        throw error(dir + ": on the " + *fs + " pseudo filesystem, which cannot hold capture files: name a real directory");
    struct statvfs vfs {};
    if (::statvfs(dir.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
        throw error(dir + ": on a read-only filesystem, so no capture can be written there");
}

/// Whether uid (in group gid) may create files in the directory st describes.
inline bool may_write_dir(const struct stat& st, uid_t uid, gid_t gid) {
    if (uid == 0) return true;
    if (st.st_uid == uid) return (st.st_mode & S_IWUSR) && (st.st_mode & S_IXUSR);
    if (st.st_gid == gid) return (st.st_mode & S_IWGRP) && (st.st_mode & S_IXGRP);
    return (st.st_mode & S_IWOTH) && (st.st_mode & S_IXOTH);
}

/// The caller behind sudo (SUDO_UID), else the real user.
inline uid_t calling_uid() {
    if (const char* s = std::getenv("SUDO_UID"); s && *s) {
        char* end = nullptr;
        unsigned long v = std::strtoul(s, &end, 10);
        if (end && !*end) return static_cast<uid_t>(v);
    }
    return ::getuid();
}

/// Run as root: makes the existing directory dir usable by the capture
/// user who when it is not: a
/// directory it may manage (a real directory owned by root or by
/// caller, holding only captures) gets who's group and mode (2770 with the
/// default file mode); any other is left alone and error says the command
/// that fixes it. Returns true when it changed dir. Throws error.
inline bool make_capture_dir_usable(const std::string& dir, const run_as& who, mode_t mode, uid_t caller) {
    const uid_t uid = who.uid;
    const gid_t gid = who.gid;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) throw system_failure(dir);
    if (S_ISLNK(st.st_mode) && ::stat(dir.c_str(), &st) != 0) throw system_failure(dir);
    if (may_write_dir(st, uid, gid)) return false;
    const std::string fix = "chgrp " + detail::shell_word(who.group) + " " + detail::shell_word(dir) +
                            " && chmod " + format_file_mode(mode) + " " + detail::shell_word(dir);
    struct stat link {};
    const bool real_dir = ::lstat(dir.c_str(), &link) == 0 && S_ISDIR(link.st_mode);
    const bool owned = st.st_uid == 0 || st.st_uid == caller;
    const bool only_captures = real_dir && owned && detail::holds_only_captures(dir);
    // A directory that holds more (/etc, a home) is better left as it is:
    // the first advice is a directory of the captures' own beneath it.
    std::string own = dir;
    while (own.size() > 1 && own.back() == '/') own.pop_back();
    own = detail::shell_word(own + (own == "/" ? "" : "/") + "captures");
    if (!real_dir || !owned || !only_captures)
        throw error(dir + ": the capture runs as " + who.user + ":" + who.group +
                    ", which cannot write there (left as it is: " +
                    (!real_dir ? "it is a symbolic link"
                               : !owned ? "it is neither yours nor root's" : "it holds more than captures") +
                    (real_dir && owned ? "); give the captures a directory of their own: --dir " + own +
                                             " (made as it should be), or make this one usable with: "
                                       : "); make it usable with: ") +
                    fix);
    if (::chown(dir.c_str(), static_cast<uid_t>(-1), gid) != 0 || ::chmod(dir.c_str(), mode) != 0)
        throw error(dir + ": " + errno_text(errno) + " (making it usable by " + who.user + ":" + who.group + "); make it usable with: " + fix);
    return true;
}

/// The directory a pull writes into, as cap-start would have it: checked
/// (check_capture_dir_usable), made when missing (as root like cap-start:
/// root and the capture group of user and group, 2770 with the default
/// file mode). Returns, as root, the capture group, which the pull's file
/// gets as live captures do; nothing otherwise. Throws error.
inline std::optional<gid_t> prepare_pull_dir(const std::string& dir, const std::string& user,
                                             const std::string& group, mode_t file_mode) {
    check_capture_dir_usable(dir);
    if (::geteuid() == 0) {
        std::optional<run_as> who;
        try {
            who = resolve_run_as(user, group);
        } catch (const usage_error&) {
            // No capture user on this host: a pull needs none.
        }
        if (who && who->uid != 0) {
            ensure_capture_dir(dir, true, who->gid, file_mode);
            return who->gid;
        }
    }
    make_directory_for(dir, file_mode);
    return std::nullopt;
}

/// Gives the file at path the group gid, never through a symbolic link put
/// in its place. Throws error("PATH: why").
inline void set_file_group(const std::string& path, gid_t gid) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd || ::fchown(fd.get(), static_cast<uid_t>(-1), gid) != 0) throw system_failure(path);
}

}  // namespace capture
