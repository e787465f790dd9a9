//! Caches of compiled state: shader modules by file, compute pipelines and bind group layouts
//! by entry point, and bind groups by (entry point, buffers).
//!
//! Everything is built on first use and kept for the life of the `Gpu`. The layouts are
//! explicit (from `shaders::Kernel::storage`), not derived from the WGSL, so that the uniform
//! binding can take a dynamic offset into the shared uniform arena. Bind groups can be cached
//! because a buffer id names one wgpu buffer forever (ids are never reused) and the arena
//! buffer never changes; a training loop whose pool hands out the same buffers every step
//! reuses the same (entry, buffers) combinations, so it stops creating bind groups too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use super::pool::GpuBuffer;
use super::shaders::{Access, Kernel};

/// Storage bindings per entry point, at most: WebGPU's default
/// `max_storage_buffers_per_shader_stage`.
pub(crate) const MAX_STORAGE: usize = 8;

/// Bytes of uniform data each dispatch may bind: one slot of the arena. 256 is WebGPU's default
/// `min_uniform_buffer_offset_alignment`, so slot offsets are valid dynamic offsets everywhere.
pub(crate) const UNIFORM_SLOT: u64 = 256;

/// Bind groups kept at most; past this the cache starts over (a safety valve for programs that
/// keep making new buffer combinations, not something a training loop reaches).
const MAX_BIND_GROUPS: usize = 4096;

pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

type BindKey = (&'static str, [u64; MAX_STORAGE]);

#[derive(Default)]
pub(crate) struct Pipelines {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    pipelines: HashMap<&'static str, Rc<Pipeline>>,
    bind_groups: HashMap<BindKey, wgpu::BindGroup>,
}

impl Pipelines {
    pub fn clear_bind_groups(&mut self) {
        self.bind_groups.clear();
    }

    /// The pipeline for `kernel`, compiling its shader file on first use.
    pub fn get(&mut self, device: &wgpu::Device, kernel: &Kernel) -> Rc<Pipeline> {
        if let Some(p) = self.pipelines.get(kernel.entry) {
            return p.clone();
        }
        assert!(kernel.storage.len() <= MAX_STORAGE, "{}: too many storage bindings", kernel.entry);
        let module = self.modules.entry(kernel.file).or_insert_with(|| {
            device
                .create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(kernel.file), source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(kernel.source)) })
        });
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: true, min_binding_size: None },
            count: None,
        }];
        for (i, access) in kernel.storage.iter().enumerate() {
            entries.push(wgpu::BindGroupLayoutEntry {
                binding: i as u32 + 1,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only: *access == Access::Read },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            });
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(kernel.entry), entries: &entries });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(kernel.entry),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.entry),
            layout: Some(&pipeline_layout),
            module,
            entry_point: Some(kernel.entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let p = Rc::new(Pipeline { pipeline, layout });
        self.pipelines.insert(kernel.entry, p.clone());
        p
    }

    /// The bind group of `kernel` over the uniform arena (one slot, offset given at dispatch)
    /// and `bufs` at bindings 1.., made on first use of this combination.
    pub fn bind_group(&mut self, device: &wgpu::Device, kernel: &Kernel, pipeline: &Pipeline, uniforms: &wgpu::Buffer, bufs: &[&GpuBuffer]) -> wgpu::BindGroup {
        let mut ids = [0u64; MAX_STORAGE];
        for (id, b) in ids.iter_mut().zip(bufs) {
            *id = b.id;
        }
        let key = (kernel.entry, ids);
        if let Some(bg) = self.bind_groups.get(&key) {
            return bg.clone();
        }
        if self.bind_groups.len() >= MAX_BIND_GROUPS {
            self.bind_groups.clear();
        }
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: uniforms, offset: 0, size: wgpu::BufferSize::new(UNIFORM_SLOT) }),
        }];
        for (i, b) in bufs.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.raw.as_entire_binding() });
        }
        let bg = device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(kernel.entry), layout: &pipeline.layout, entries: &entries });
        self.bind_groups.insert(key, bg.clone());
        bg
    }
}
