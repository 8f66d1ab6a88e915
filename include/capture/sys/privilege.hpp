// Privilege: whether a tool runs with more privilege than its caller, who
// that caller is, and what the caller could do on their own.
//
// A tool is "elevated" when it runs as root for someone else: real uid 0
// with SUDO_USER or SUDO_UID set (sudo), an effective uid other than the
// real one (setuid), or the kernel's AT_SECURE flag (setuid, setgid, or
// file capabilities). Then every choice the caller makes (options,
// environment, files) is the caller's, made with root's power, and the
// tools limit them to what the admin allows (SECURITY.md). Plain root,
// not under sudo, is not elevated: root needs no protection from itself.
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/error.hpp"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/auxv.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace capture {

/// Who called a tool, and whether the tool has more privilege than they.
struct privilege {
    bool elevated = false;        ///< runs with more privilege than its caller
    std::string how;              ///< "sudo", "setuid" or "secure-exec" when elevated
    uid_t caller_uid = 0;         ///< the caller's uid (SUDO_UID under sudo, else the real uid)
    gid_t caller_gid = 0;         ///< the caller's primary gid
    std::string caller;           ///< the caller's name (or uid)
    std::vector<gid_t> groups;    ///< the caller's groups, primary one included
};

namespace detail {

inline std::vector<gid_t> groups_of(const std::string& name, gid_t primary) {
    int n = 64;
    std::vector<gid_t> out;
    for (int attempt = 0; attempt < 8; ++attempt) {
        out.assign(static_cast<std::size_t>(n), 0);
        int got = n;
        if (::getgrouplist(name.c_str(), primary, out.data(), &got) >= 0) {
            out.resize(static_cast<std::size_t>(got));
            return out;
        }
        n = std::max(got, n * 2);
    }
    return {primary};
}

inline bool parse_id(const char* text, unsigned long& out) {
    if (!text || !*text) return false;
    char* end = nullptr;
    errno = 0;
    out = std::strtoul(text, &end, 10);
    return errno == 0 && end && *end == '\0';
}

}  // namespace detail

/// The privilege of a process with real uid ruid and effective uid euid,
/// secure when the kernel set AT_SECURE, and sudo's SUDO_USER and
/// SUDO_UID (either may be null). Throws nothing.
inline privilege detect_privilege(uid_t ruid, uid_t euid, bool secure, const char* sudo_user, const char* sudo_uid) {
    privilege p;
    p.caller_uid = ruid;
    bool under_sudo = ruid == 0 && ((sudo_user && *sudo_user) || (sudo_uid && *sudo_uid));
    if (under_sudo) {
        p.elevated = true;
        p.how = "sudo";
        unsigned long id = 0;
        const passwd* pw = nullptr;
        if (detail::parse_id(sudo_uid, id)) {
            p.caller_uid = static_cast<uid_t>(id);
            pw = ::getpwuid(p.caller_uid);
        } else if (sudo_user && *sudo_user && (pw = ::getpwnam(sudo_user))) {
            p.caller_uid = pw->pw_uid;
        } else {
            p.caller_uid = static_cast<uid_t>(-1);  // nobody we know: no rights of their own
        }
        if (pw) {
            p.caller = pw->pw_name;
            p.caller_gid = pw->pw_gid;
            p.groups = detail::groups_of(p.caller, p.caller_gid);
        } else {
            p.caller = sudo_user && *sudo_user ? sudo_user : std::to_string(p.caller_uid);
            p.caller_gid = static_cast<gid_t>(-1);
        }
        return p;
    }
    if (euid != ruid || secure) {
        p.elevated = true;
        p.how = euid != ruid ? "setuid" : "secure-exec";
    }
    if (const passwd* pw = ::getpwuid(ruid)) {
        p.caller = pw->pw_name;
        p.caller_gid = pw->pw_gid;
        p.groups = detail::groups_of(p.caller, p.caller_gid);
    } else {
        p.caller = std::to_string(ruid);
        p.caller_gid = ::getgid();
        p.groups = {p.caller_gid};
    }
    return p;
}

/// The privilege of this process. Throws nothing.
inline privilege current_privilege() {
    bool secure = false;
#ifdef __linux__
    secure = ::getauxval(AT_SECURE) != 0;
#endif
    return detect_privilege(::getuid(), ::geteuid(), secure, std::getenv("SUDO_USER"), std::getenv("SUDO_UID"));
}

/// True when the caller belongs to one of the groups named (by name).
inline bool caller_in_any(const privilege& p, const std::vector<std::string>& group_names) {
    for (const auto& name : group_names) {
        const struct group* gr = ::getgrnam(name.c_str());
        if (gr && std::find(p.groups.begin(), p.groups.end(), gr->gr_gid) != p.groups.end()) return true;
    }
    return false;
}

/// True when the caller, on their own, could access path with mode
/// (R_OK, W_OK ...). Not elevated, that is access(2); under sudo it is
/// asked in a child that has taken the caller's uid, gid and groups (the
/// kernel's own answer, ACLs and all); setuid, the real ids answer.
/// Throws nothing: a failure to ask is "no".
inline bool caller_may_access(const privilege& p, const std::string& path, int mode) {
    if (!p.elevated || p.how != "sudo") return ::access(path.c_str(), mode) == 0;
    if (p.caller_uid == static_cast<uid_t>(-1)) return false;
    pid_t child = ::fork();
    if (child < 0) return false;
    if (child == 0) {
        bool ok = ::setgroups(p.groups.size(), p.groups.data()) == 0 &&
                  ::setresgid(p.caller_gid, p.caller_gid, p.caller_gid) == 0 &&
                  ::setresuid(p.caller_uid, p.caller_uid, p.caller_uid) == 0 &&
                  ::access(path.c_str(), mode) == 0;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0)
        if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// path made absolute and free of symbolic links, ".", ".." and repeated
/// slashes: the longest part of it that exists resolved by realpath, the
/// rest appended as written. Throws usage_error for a part that is "..",
/// beyond what exists (it could not be checked).
inline std::string resolved_path(const std::string& path) {
    std::string abs = path;
    if (abs.empty() || abs[0] != '/') {
        char cwd[PATH_MAX];
        if (!::getcwd(cwd, sizeof cwd)) throw system_failure("getcwd");
        abs = std::string(cwd) + "/" + abs;
    }
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < abs.size();) {
        std::size_t j = abs.find('/', i);
        if (j == std::string::npos) j = abs.size();
        if (j > i) parts.push_back(abs.substr(i, j - i));
        i = j + 1;
    }
    // The longest prefix that exists.
    std::size_t have = parts.size();
    std::string base;
    for (;; --have) {
        std::string prefix;
        for (std::size_t k = 0; k < have; ++k) prefix += "/" + parts[k];
        if (prefix.empty()) prefix = "/";
        if (char* real = ::realpath(prefix.c_str(), nullptr)) {
            base = real;
            std::free(real);
            break;
        }
        if (have == 0) throw system_failure(path);
    }
    for (std::size_t k = have; k < parts.size(); ++k) {
        if (parts[k] == "..") throw usage_error(path + ": '..' after a part that does not exist");
        if (parts[k] == ".") continue;
        base += (base == "/" ? "" : "/") + parts[k];
    }
    return base;
}

/// True when path is one of dirs or beneath one, both resolved
/// (resolved_path). Throws what resolved_path throws, for path.
inline bool path_within(const std::string& path, const std::vector<std::string>& dirs) {
    std::string p = resolved_path(path);
    for (const auto& d : dirs) {
        std::string r;
        try {
            r = resolved_path(d);
        } catch (const error&) {
            continue;
        }
        if (p == r || (p.size() > r.size() && p.compare(0, r.size(), r) == 0 && (r == "/" || p[r.size()] == '/')))
            return true;
    }
    return false;
}

/// Why a configuration file may not be trusted by an elevated tool, or ""
/// when it may: it must be a regular file owned by root and not writable
/// by group or others, and so must every directory on its resolved path
/// (anyone who may write one of them could swap the file). Throws nothing.
inline std::string untrusted_config_reason(const std::string& path) {
    char* real = ::realpath(path.c_str(), nullptr);
    if (!real) return errno_text(errno);
    std::string r = real;
    std::free(real);
    struct stat st {};
    if (::stat(r.c_str(), &st) != 0) return errno_text(errno);
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    auto check = [](const struct stat& s, const std::string& what) -> std::string {
        if (s.st_uid != 0) return what + " is not owned by root";
        if (s.st_mode & (S_IWGRP | S_IWOTH)) return what + " is writable by group or others";
        return {};
    };
    if (auto why = check(st, "it"); !why.empty()) return why;
    for (std::string dir = r; dir.size() > 1;) {
        auto slash = dir.rfind('/');
        dir = slash == 0 ? "/" : dir.substr(0, slash);
        if (::stat(dir.c_str(), &st) != 0) return dir + ": " + errno_text(errno);
        if (auto why = check(st, dir); !why.empty()) return why;
    }
    return {};
}

}  // namespace capture
