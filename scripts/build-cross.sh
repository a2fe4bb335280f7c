#!/usr/bin/env bash
# Builds release addons for other Linux targets on a Linux x64 host without rustup downloads, into
# npm/<platform>/ (where `npm pack` of that platform package takes them from):
#
#   bash scripts/build-cross.sh linux-arm64-gnu    # rustup's aarch64 std + zig as the linker (cargo-zigbuild)
#   bash scripts/build-cross.sh linux-x64-musl     # Debian's rustc 1.96 building std from its source for musl
#
# The CI workflow (.github/workflows/release.yml) builds every platform the usual way; this script is
# for machines that cannot reach static.rust-lang.org (so no `rustup target add`), only package
# registries. Its prerequisites, and why each is needed:
#
#   linux-arm64-gnu: a Rust std for aarch64-unknown-linux-gnu in the active toolchain
#     (`rustc --print target-libdir --target aarch64-unknown-linux-gnu` exists), `zig` on PATH
#     (PyPI: `pip install ziglang`, then a `zig` that runs `python -m ziglang`), and cargo-zigbuild
#     (crates.io: `cargo install cargo-zigbuild`). Built this way the addon asks for glibc 2.30 symbols (Debian
#     11, Ubuntu 20.04 and later); the CI workflow's build (napi-rs's glibc 2.17 cross toolchain) is the one
#     to publish.
#   linux-x64-musl: no Rust std for musl is published outside static.rust-lang.org, so std is compiled
#     from source (`-Z build-std`, allowed on a stable compiler by RUSTC_BOOTSTRAP=1). That needs the
#     source of exactly the compiler's version: Debian bookworm's rustc-web 1.96 and rust-web-src 1.96
#     (with libstd-rust-web-1.96, libstd-rust-web-dev and libllvm22), unpacked with `dpkg-deb -x` into
#     DEBIAN_RUST (default /tmp/debian-rust) so the system's packages are untouched; and musl-tools
#     (musl-gcc) as the linker. musl's unwinder is libgcc_s, as on Alpine: the addon needs libgcc_s.so.1
#     at run time, which every Alpine Node has (Node itself needs it).
set -euo pipefail
cd "$(dirname "$0")/.."

platform=${1:?usage: build-cross.sh linux-arm64-gnu|linux-x64-musl}
out="npm/$platform"

case "$platform" in
  linux-arm64-gnu)
    command -v zig >/dev/null || { echo "zig is not on PATH (pip install ziglang)" >&2; exit 1; }
    command -v cargo-zigbuild >/dev/null || { echo "cargo-zigbuild is not on PATH (cargo install cargo-zigbuild)" >&2; exit 1; }
    npx napi build --platform --release --no-js --target aarch64-unknown-linux-gnu --cross-compile -o "$out"
    ;;
  linux-x64-musl)
    debian_rust=${DEBIAN_RUST:-/tmp/debian-rust}
    rustc_bin="$debian_rust/usr/bin/rustc"
    if [ ! -x "$rustc_bin" ]; then
      echo "no Debian rustc at $rustc_bin: unpack rustc-web rust-web-src libstd-rust-web-1.96 libstd-rust-web-dev libllvm22 there (dpkg-deb -x)" >&2
      exit 1
    fi
    command -v musl-gcc >/dev/null || { echo "musl-gcc is missing (apt-get install musl-tools)" >&2; exit 1; }
    # musl-gcc looks for libgcc_s only among musl's libraries; link against the host's (same ABI for the
    # unwinder's symbols), the addon then names libgcc_s.so.1 like any Alpine binary.
    # A fixed directory: it is part of RUSTFLAGS, and another path would make cargo rebuild everything, std too.
    libgcc_dir="$PWD/target/musl-libgcc"
    mkdir -p "$libgcc_dir"
    ln -sf "$(gcc -print-file-name=libgcc_s.so.1)" "$libgcc_dir/libgcc_s.so"
    LD_LIBRARY_PATH="$debian_rust/usr/lib/x86_64-linux-gnu" \
      RUSTC="$rustc_bin" \
      RUSTC_BOOTSTRAP=1 \
      CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
      CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=musl-gcc \
      RUSTFLAGS="-C target-feature=-crt-static -L native=$libgcc_dir" \
      npx napi build --platform --release --no-js --target x86_64-unknown-linux-musl -o "$out"
    ;;
  *)
    echo "unknown platform $platform (linux-arm64-gnu or linux-x64-musl; linux-x64-gnu is \`npm run build\`)" >&2
    exit 1
    ;;
esac
# napi build also writes the binding's types next to the addon; they are lib/binding.d.ts's, not the package's.
rm -f "$out/index.d.ts"
ls -l "$out"/*.node
