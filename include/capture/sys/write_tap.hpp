// A tap on what a writer writes: every byte it sends to its file, in the
// order it goes there, shown once to someone else (a digest of the output,
// digest.hpp's digest_tap), so that nobody needs to read the file back.
//
// A tap sees bytes; whether they are still the file's is the writer's to
// say (capture_writer::tap_saw_whole_file()): a file patched in place or
// cut short after its bytes were shown is no longer what the tap saw.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>

namespace capture {

/// Sees the bytes of a file as they are written to it.
class write_tap {
public:
    virtual ~write_tap() = default;

    /// The n bytes at p go to the file next, after every byte shown
    /// before. Called on whichever thread writes them (a writer's thread
    /// of its own, write_behind.hpp), one call at a time, never
    /// concurrently. Throws nothing: a tap that fails says so itself
    /// when asked for its result.
    virtual void saw(const std::uint8_t* p, std::size_t n) noexcept = 0;
};

}  // namespace capture
