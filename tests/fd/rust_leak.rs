// A Rust program for the rust_demangled case: leaks the file open_log opens
// (the handle is forgotten, so its descriptor is never closed) and a thread
// it never joins; closes the other file it opens.
mod store {
    pub fn open_log() -> std::fs::File {
        std::fs::File::open("/etc/hostname").unwrap()
    }
}

struct Pool;

impl Pool {
    fn spawn(&self) -> std::thread::JoinHandle<()> {
        std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(5)))
    }
}

fn main() {
    std::mem::forget(store::open_log());
    drop(std::fs::File::open("/etc/passwd"));
    std::mem::forget(Pool.spawn());
}
