fn main() {
    println!(
        "{} desktop app: not built yet. Run `cargo xtask demo` for the demo backend.",
        kodekort_desktop::PRODUCT_NAME
    );
}
