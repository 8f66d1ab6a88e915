// Message digests through OpenSSL's EVP interface, for cap-hash and the
// provenance manifest.
//
// Any digest OpenSSL knows can be named (sha256, sha1, sha512, md5,
// sha3-256, blake2b512 ...). A digest has three spellings here: the name
// OpenSSL gives it, lowercased ("sha3-256", also the extension of a sidecar
// file), its record key ("sha3_256": keys are [a-z0-9_]+), and the tag of a
// BSD-style checksum line ("SHA3-256 (FILE) = HEX").
//
// Files are read, not mapped: hashing reads each byte once, and read(2) into
// a buffer that stays in cache measured as fast as mmap here (see
// bench/bench_hash.sh), while a mapping of a file that someone truncates
// under us would kill the process with SIGBUS.
//
// A file being written can be hashed as it is written instead: a
// digest_tap on its writer (write_tap.hpp) sees the bytes once, in order,
// on the writer's thread, and nobody reads the file back.
#pragma once

#include "capture/sys/ascii.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/write_tap.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/opensslv.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {

namespace detail {

struct evp_md_ctx_free {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
struct evp_md_free {
    void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
#endif

inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace detail

/// Owns one EVP_MD_CTX.
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, detail::evp_md_ctx_free>;

/// The errors queued by OpenSSL in this thread, in OpenSSL's own words
/// ("error:0308010C:digital envelope routines::unsupported"), joined by
/// "; ", and the queue emptied. fallback when the queue was empty.
inline std::string openssl_error_text(std::string_view fallback = "unknown OpenSSL error") {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        if (!text.empty()) text += "; ";
        text += buf;
    }
    return text.empty() ? std::string(fallback) : text;
}

/// A new digest context. Throws error (out of memory) with OpenSSL's words.
inline md_ctx_ptr make_md_ctx() {
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!ctx) throw error("EVP_MD_CTX_new: " + openssl_error_text());
    return ctx;
}

/// Lowercase hexadecimal of n bytes.
inline std::string to_hex(const unsigned char* bytes, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xF];
    }
    return out;
}

/// The record key for a digest name: lowercase, every character outside
/// [a-z0-9] becomes '_' ("sha3-256" -> "sha3_256").
inline std::string digest_key_of(std::string_view name) {
    std::string key = detail::ascii_lower(name);
    for (char& c : key)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '_';
    return key;
}

/// A digest algorithm found by name. Move-only: on OpenSSL 3 it owns the
/// fetched EVP_MD (fetched once, so hashing never looks the name up again).
class digest_algorithm {
public:
    /// Looks name up (any case; "sha3_256" is taken for "sha3-256" so a
    /// record key names its digest). Throws usage_error naming the
    /// algorithm, OpenSSL's words and a few valid names.
    explicit digest_algorithm(std::string_view name) {
        std::string wanted(name);
        if (wanted.empty() || wanted.size() > 64) throw unknown(name, "empty or overlong name");
        ERR_clear_error();
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        owned_.reset(EVP_MD_fetch(nullptr, wanted.c_str(), nullptr));
        if (!owned_ && wanted.find('_') != std::string::npos) {
            std::string dashed = wanted;
            for (char& c : dashed)
                if (c == '_') c = '-';
            ERR_clear_error();
            owned_.reset(EVP_MD_fetch(nullptr, dashed.c_str(), nullptr));
        }
        md_ = owned_.get();
#else
        md_ = EVP_get_digestbyname(wanted.c_str());
        if (!md_ && wanted.find('_') != std::string::npos) {
            std::string dashed = wanted;
            for (char& c : dashed)
                if (c == '_') c = '-';
            md_ = EVP_get_digestbyname(dashed.c_str());
        }
#endif
        if (!md_) throw unknown(name, openssl_error_text("not known to OpenSSL"));
        ERR_clear_error();

        // OpenSSL's short name ("SHA256", "SHA3-256", "BLAKE2b512") is the
        // spelling coreutils and analysts use; provider-only digests
        // without a NID keep the name they were fetched by.
        const char* sn = nullptr;
        if (int nid = EVP_MD_type(md_); nid != NID_undef) sn = OBJ_nid2sn(nid);
        tag_ = sn ? sn : wanted;
        name_ = detail::ascii_lower(tag_);
        key_ = digest_key_of(name_);
        size_ = static_cast<std::size_t>(EVP_MD_size(md_));
        if (size_ == 0 || size_ > EVP_MAX_MD_SIZE)
            throw usage_error("digest algorithm '" + std::string(name) + "' has no fixed output size");
    }

    digest_algorithm(digest_algorithm&&) noexcept = default;
    digest_algorithm& operator=(digest_algorithm&&) noexcept = default;
    digest_algorithm(const digest_algorithm&) = delete;
    digest_algorithm& operator=(const digest_algorithm&) = delete;
    ~digest_algorithm() = default;

    /// The EVP_MD, valid as long as this object.
    const EVP_MD* md() const noexcept { return md_; }
    /// The lowercase name ("sha256", "sha3-256"): the sidecar extension.
    const std::string& name() const noexcept { return name_; }
    /// The record key ("sha256", "sha3_256").
    const std::string& key() const noexcept { return key_; }
    /// The tag of a BSD-style line ("SHA256", "SHA3-256").
    const std::string& tag() const noexcept { return tag_; }
    /// The digest's length in bytes (its hex is twice as long).
    std::size_t size() const noexcept { return size_; }

private:
    static usage_error unknown(std::string_view name, const std::string& why) {
        return usage_error("unknown digest algorithm '" + std::string(name) + "' (" + why +
                           "); try sha256, sha512, sha1, md5, sha3-256 or blake2b512, "
                           "or see 'openssl list -digest-algorithms'");
    }

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    std::unique_ptr<EVP_MD, detail::evp_md_free> owned_;
#endif
    const EVP_MD* md_ = nullptr;
    std::string name_;
    std::string key_;
    std::string tag_;
    std::size_t size_ = 0;
};

/// The hex digest of bytes in memory. Throws error with OpenSSL's words.
inline std::string hex_digest(std::string_view data, const EVP_MD* md) {
    md_ctx_ptr ctx = make_md_ctx();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 || EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), out, &n) != 1)
        throw error("digest: " + openssl_error_text());
    return to_hex(out, n);
}

/// Opens path to be hashed, and fills st with what fstat says of it.
/// Throws error("PATH: why") when it cannot be opened, is a directory, or
/// is not a regular file: a device or a FIFO could be read forever, and a
/// capture is a file.
inline unique_fd open_file_to_hash(const std::string& path, struct stat& st) {
    unique_fd fd = open_read(path);
    if (::fstat(fd.get(), &st) != 0) throw system_failure(path);
    if (S_ISDIR(st.st_mode)) throw error(path + ": " + errno_text(EISDIR));
    if (!S_ISREG(st.st_mode)) throw error(path + ": not a regular file");
    return fd;
}

/// Hashes files with one reusable context and read buffer; one per thread.
class file_hasher {
public:
    /// Reads of this size measured fastest here (bench/bench_hash.sh): large
    /// enough that system calls cost nothing, small enough to stay in L2.
    static constexpr std::size_t default_buffer_size = std::size_t(1) << 20;

    explicit file_hasher(std::size_t buffer_size = default_buffer_size)
        : ctx_(make_md_ctx()), buffer_size_(buffer_size ? buffer_size : default_buffer_size) {}

    /// The hex digest of everything readable from fd, to its end. name is
    /// for messages. Throws error("NAME: why") for a read error (strerror)
    /// or a digest failure (OpenSSL's words).
    std::string hex_digest_of_fd(int fd, const std::string& name, const EVP_MD* md) {
        if (buffer_.size() != buffer_size_) buffer_.resize(buffer_size_);
        // Read-ahead in large steps: the file is read once, front to back.
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        if (EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1) throw error(name + ": " + openssl_error_text());
        for (;;) {
            ssize_t n = ::read(fd, buffer_.data(), buffer_.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                throw system_failure(name);
            }
            if (n == 0) break;
            if (EVP_DigestUpdate(ctx_.get(), buffer_.data(), static_cast<std::size_t>(n)) != 1)
                throw error(name + ": " + openssl_error_text());
        }
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        if (EVP_DigestFinal_ex(ctx_.get(), out, &length) != 1) throw error(name + ": " + openssl_error_text());
        return to_hex(out, length);
    }

    /// The hex digest of the file at path. Throws error("PATH: why") when
    /// it cannot be opened or read, or is a directory.
    std::string hex_digest_of_file(const std::string& path, const EVP_MD* md) {
        struct stat st {};
        unique_fd fd = open_file_to_hash(path, st);
        return hex_digest_of_fd(fd.get(), path, md);
    }

private:
    md_ctx_ptr ctx_;
    std::size_t buffer_size_;
    std::vector<unsigned char> buffer_;
};

/// The hex digest of the file at path (see file_hasher::hex_digest_of_file).
inline std::string hex_digest_of_file(const std::string& path, const EVP_MD* md) {
    file_hasher hasher;
    return hasher.hex_digest_of_file(path, md);
}

/// A digest made piece by piece: update() with the bytes in order, then
/// hex(). Owns its EVP context. Move-only.
class stream_digest {
public:
    /// Starts a digest with md (valid as long as this object). Throws
    /// error with OpenSSL's words.
    explicit stream_digest(const EVP_MD* md) : ctx_(make_md_ctx()) {
        if (EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1) throw error("digest: " + openssl_error_text());
    }

    /// Adds n bytes at p. Throws error with OpenSSL's words; after hex(),
    /// error too.
    void update(const void* p, std::size_t n) {
        if (!hex_.empty()) throw error("digest: already finished");
        if (n != 0 && EVP_DigestUpdate(ctx_.get(), p, n) != 1) throw error("digest: " + openssl_error_text());
        bytes_ += n;
    }

    /// The hex digest of everything added (finished at the first call;
    /// nothing may be added after). Throws error with OpenSSL's words.
    const std::string& hex() {
        if (hex_.empty()) {
            unsigned char out[EVP_MAX_MD_SIZE];
            unsigned int n = 0;
            if (EVP_DigestFinal_ex(ctx_.get(), out, &n) != 1) throw error("digest: " + openssl_error_text());
            hex_ = to_hex(out, n);
        }
        return hex_;
    }

    /// Bytes added so far. Throws nothing.
    std::uint64_t bytes() const noexcept { return bytes_; }

private:
    md_ctx_ptr ctx_;
    std::uint64_t bytes_ = 0;
    std::string hex_;
};

/// A tap (write_tap.hpp) that digests what a writer writes: the digest of
/// the file, without reading it back, when the writer says the tap saw
/// the whole of it (capture_writer::tap_saw_whole_file()). The algorithm
/// is fetched and the context made on the first bytes seen, on the
/// writer's thread: a tool that starts with one pays neither on its own
/// thread. One writer per tap.
class digest_tap final : public write_tap {
public:
    /// A tap for the digest named name ("sha256", as digest_algorithm
    /// takes it). Throws nothing but std::bad_alloc: a name that is no
    /// digest is said by hex().
    explicit digest_tap(std::string name = "sha256") : name_(std::move(name)) {}

    void saw(const std::uint8_t* p, std::size_t n) noexcept override {
        guarded([&] {
            start();
            digest_->update(p, n);
        });
    }

    /// The hex digest of every byte seen (of none, when none was). Call
    /// once the writer is done (committed or destroyed): its thread no
    /// longer writes then. Throws error (the digest could not be made:
    /// its name is unknown, OpenSSL failed) or usage_error (its name).
    const std::string& hex() {
        if (!failure_.empty()) throw error(failure_);
        start();
        return digest_->hex();
    }

    /// Looks the digest up now, before any byte is seen (on another
    /// thread, before the tap is set on its writer); a failure is said by
    /// hex(), as saw()'s. Throws nothing.
    void prepare() noexcept {
        guarded([&] { start(); });
    }

    /// Bytes seen so far (as hex(): once the writer is done). Throws nothing.
    std::uint64_t bytes() const noexcept { return digest_ ? digest_->bytes() : 0; }

    /// The digest's name, as given. Throws nothing.
    const std::string& name() const noexcept { return name_; }

private:
    // f, unless an earlier step failed; a failure is kept for hex().
    template <class F>
    void guarded(F f) noexcept {
        if (!failure_.empty()) return;
        try {
            f();
        } catch (const std::exception& e) {
            failure_ = e.what();
        } catch (...) {
            failure_ = "digest: failed";
        }
    }

    void start() {
        if (digest_) return;
        algorithm_ = std::make_unique<digest_algorithm>(name_);
        digest_ = std::make_unique<stream_digest>(algorithm_->md());
    }

    std::string name_;
    std::unique_ptr<digest_algorithm> algorithm_;
    std::unique_ptr<stream_digest> digest_;  // made by the first bytes seen, or by hex()
    std::string failure_;                     // why the digest could not be made
};

/// True when two hex digests are the same, ignoring case.
inline bool hex_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace capture
