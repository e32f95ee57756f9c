//! One loaded PKCS#11 module per path, shared by every backend of the process.
//!
//! `C_Initialize` and `C_Finalize` act on the whole module, not on one backend: two
//! backends on the same `.so` (two tokens of one HSM, or a test's inspection session)
//! share one initialisation. So the module lives in a process-wide registry and is
//! never finalised on drop; it is re-initialised only by a recovery.
//!
//! PKCS#11 (v2.40 §5.4) leaves a `C_Finalize` racing with calls in other threads
//! undefined — SoftHSM frees its state under them. Every call into the module
//! therefore runs under the module's read gate, and a re-initialisation takes the write
//! gate, waiting at most [`GATE_WAIT`] for calls in flight to finish.
//!
//! Each successful initialisation bumps the module's generation. A connection
//! remembers the generation it was built in; sessions and handles of an older
//! generation are dead (and their numbers may already name someone else's session), so
//! they are forgotten, never closed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};

use super::error::Fault;

/// Longest a re-initialisation waits for calls in flight to leave the module. A
/// request that triggers recovery must still get its answer within a second.
pub(crate) const GATE_WAIT: Duration = Duration::from_millis(300);

/// A PKCS#11 module loaded from one path.
#[derive(Debug)]
pub(crate) struct Module {
    path: PathBuf,
    gate: RwLock<ModuleState>,
}

/// What the gate protects.
#[derive(Debug)]
pub(crate) struct ModuleState {
    /// The loaded library; `None` until the first successful load.
    ctx: Option<Pkcs11>,
    /// Whether `C_Initialize` succeeded and no `C_Finalize` followed.
    initialized: bool,
    /// Bumped at every initialisation.
    generation: u64,
}

impl ModuleState {
    /// The context, if the module is initialised in generation `generation`.
    pub(crate) fn context_in(&self, generation: u64) -> Result<&Pkcs11, Fault> {
        match &self.ctx {
            Some(ctx) if self.initialized && self.generation == generation => Ok(ctx),
            _ => Err(Fault::ModuleReset),
        }
    }

    /// The current generation.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

/// The module loaded from `path`, shared with every other user in the process.
pub(crate) fn get(path: &Path) -> Arc<Module> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<Module>>>> = OnceLock::new();
    let mut registry = REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    registry
        .entry(path.to_path_buf())
        .or_insert_with(|| {
            Arc::new(Module {
                path: path.to_path_buf(),
                gate: RwLock::new(ModuleState {
                    ctx: None,
                    initialized: false,
                    generation: 0,
                }),
            })
        })
        .clone()
}

impl Module {
    /// The module's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Shared access for one call into the module.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, ModuleState> {
        self.gate.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads and initialises the module if no one has yet; returns the generation.
    pub(crate) fn ensure_initialized(&self) -> Result<u64, Fault> {
        {
            let state = self.read();
            if state.initialized {
                return Ok(state.generation);
            }
        }
        let mut state = self.write_within(GATE_WAIT)?;
        if !state.initialized {
            self.initialize(&mut state)?;
        }
        Ok(state.generation)
    }

    /// Finalises and initialises the module again, unless someone already did since
    /// generation `seen` (then their initialisation serves). Returns the generation.
    pub(crate) fn reinitialize(&self, seen: u64) -> Result<u64, Fault> {
        let mut state = self.write_within(GATE_WAIT)?;
        if state.initialized && state.generation != seen {
            return Ok(state.generation);
        }
        if state.initialized {
            if let Some(ctx) = &state.ctx {
                // The module may already consider itself finalised (that is often the
                // failure being recovered from); either way it is re-initialised next.
                if let Err(e) = ctx.clone().finalize() {
                    tracing::debug!(module = %self.path.display(), error = %e, "C_Finalize during recovery");
                }
            }
            state.initialized = false;
        }
        self.initialize(&mut state)?;
        tracing::info!(module = %self.path.display(), generation = state.generation, "PKCS#11 module re-initialised");
        Ok(state.generation)
    }

    fn initialize(&self, state: &mut ModuleState) -> Result<(), Fault> {
        let ctx = match &state.ctx {
            Some(ctx) => ctx.clone(),
            None => {
                let ctx = Pkcs11::new(&self.path).map_err(|e| {
                    Fault::Library(format!(
                        "cannot load PKCS#11 module {}: {e}",
                        self.path.display()
                    ))
                })?;
                state.ctx = Some(ctx.clone());
                ctx
            }
        };
        // OS locking: the module may be called from several threads at once (one
        // session per thread), and uses the operating system's mutexes for that.
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) => {}
            // Another user of the same library in this process initialised it
            // (e.g. a tool's own cryptoki context); one initialisation serves all.
            Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, Function::Initialize)) => {}
            Err(e) => {
                return Err(Fault::ck(
                    e,
                    format!("initialising PKCS#11 module {}", self.path.display()),
                ))
            }
        }
        state.initialized = true;
        state.generation += 1;
        Ok(())
    }

    /// The write gate, if calls in flight leave the module within `wait`.
    ///
    /// Polls rather than blocks: a blocked writer would also stall every new reader
    /// behind a long call (an RSA-4096 generation takes seconds on SoftHSM).
    fn write_within(&self, wait: Duration) -> Result<RwLockWriteGuard<'_, ModuleState>, Fault> {
        let deadline = Instant::now() + wait;
        loop {
            match self.gate.try_write() {
                Ok(guard) => return Ok(guard),
                Err(TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Fault::Unavailable(format!(
                        "PKCS#11 module {} stayed busy for {wait:?}; recovery postponed",
                        self.path.display()
                    )))
                }
            }
        }
    }
}
