//! `KvStore`: the keys and values of past positions, per layer, for one sequence. The engine
//! creates and owns it and passes it to `Model::forward`; a model holds nothing per request.

/// Keys and values of positions `0..len()` for every layer.
#[derive(Debug, Clone)]
pub struct KvStore {
    kv_dim: usize,
    capacity: usize,
    len: usize,
    /// Per layer: `[capacity, kv_dim]` keys.
    keys: Vec<Vec<f32>>,
    /// Per layer: `[capacity, kv_dim]` values.
    values: Vec<Vec<f32>>,
}

impl KvStore {
    /// A store for `capacity` positions of `n_layers` layers, `kv_dim` values per position.
    /// Memory is reserved as positions are written, not up front.
    pub fn new(n_layers: usize, kv_dim: usize, capacity: usize) -> Self {
        Self {
            kv_dim,
            capacity,
            len: 0,
            keys: vec![Vec::new(); n_layers],
            values: vec![Vec::new(); n_layers],
        }
    }

    /// Positions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum positions.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets positions from `len` on (to rewind or reuse a prefix).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        for layer in self.keys.iter_mut().chain(self.values.iter_mut()) {
            layer.truncate(self.len * self.kv_dim);
        }
    }

    /// Appends `[n, kv_dim]` keys and values for `layer` at positions `len()..len() + n`.
    /// The caller commits them with `advance` once every layer has been written.
    pub(crate) fn write(&mut self, layer: usize, k: &[f32], v: &[f32]) {
        debug_assert_eq!(self.keys[layer].len(), self.len * self.kv_dim);
        self.keys[layer].extend_from_slice(k);
        self.values[layer].extend_from_slice(v);
    }

    /// Keys and values of `layer` for positions `0..n`, `[n, kv_dim]` each.
    pub(crate) fn layer(&self, layer: usize, n: usize) -> (&[f32], &[f32]) {
        let end = n * self.kv_dim;
        (&self.keys[layer][..end], &self.values[layer][..end])
    }

    /// Marks `n` more positions as stored.
    pub(crate) fn advance(&mut self, n: usize) {
        self.len += n;
    }
}
