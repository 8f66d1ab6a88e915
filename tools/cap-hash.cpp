// cap-hash: digests of capture files; sidecar files; checking them (cap-hash(1)).
#include "capture/engine/cli.hpp"
#include "capture/tool/hash_tool.hpp"

int main(int argc, char** argv) {
    namespace po = boost::program_options;
    capture::cli::tool tool("cap-hash", "Hash capture files (SHA-256 by default) in parallel, or check their digests.",
                            "[OPTION]... [FILE]...");
    tool.takes_operands("FILE");
    tool.add_options()
        ("algo", po::value<std::string>()->value_name("NAME"),
         "digest: any OpenSSL digest (sha256, sha512, sha1, md5, sha3-256, blake2b512 ...); default sha256")
        ("sidecar", "also write FILE.ALGO, which sha256sum -c accepts")
        ("check,c", "verify records, sidecar files or sha256sum-style manifests")
        ("quiet", "with --check, say nothing for files that verify")
        ("force", "hash files even while they are still being written");
    tool.takes_jobs("files hashed").audits("hash");
    return tool.run(argc, argv, capture::run_hash);
}
