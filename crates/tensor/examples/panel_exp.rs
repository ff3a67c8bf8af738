//! Experiment: one vs two panels per kernel call.
use std::time::Instant;
use tensor::cpu::panel::PanelFormat;
use tensor::quant::activation::ActFormat;
use tensor::DType;
fn main() {
    let cols = 2048;
    let npan = 64;
    let vals: Vec<f32> = (0..npan * 8 * cols)
        .map(|i: usize| ((i.wrapping_mul(2654435761)) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let w = tensor::quant::quantize(DType::Q4_0, &vals);
    let f = PanelFormat::Q4_0;
    let rb = DType::Q4_0.row_bytes(cols).unwrap();
    let panels: Vec<Vec<u8>> = (0..npan)
        .map(|p| {
            let mut b = vec![0u8; f.panel_bytes(cols)];
            f.pack(&w[p * 8 * rb..(p + 1) * 8 * rb], &mut b);
            b
        })
        .collect();
    let ntok = 256;
    let af = ActFormat::Q8;
    let acts: Vec<Vec<u8>> = (0..ntok)
        .map(|t| {
            let x: Vec<f32> = (0..cols)
                .map(|i| ((i + t) % 13) as f32 * 0.1 - 0.6)
                .collect();
            let mut a = vec![0u8; af.row_bytes(cols)];
            af.quantize(&x, &mut a);
            a
        })
        .collect();
    let k = tensor::cpu::best().panel(DType::Q4_0).unwrap().1;
    for _ in 0..3 {
        let s = Instant::now();
        let mut out = [[0f32; 8]; 4];
        let mut sum = 0.0;
        for p in &panels {
            for t0 in (0..ntok).step_by(4) {
                let a: Vec<&[u8]> = acts[t0..t0 + 4].iter().map(|a| a.as_slice()).collect();
                k(p, &a, &mut out);
                sum += out[0][0];
            }
        }
        let e = s.elapsed().as_secs_f64();
        println!(
            "one: {:.1} GMAC/s ({sum})",
            (npan * 8 * cols * ntok) as f64 / e / 1e9
        );
        for n in [1usize, 2, 3] {
            let s = Instant::now();
            for p in &panels {
                for t0 in (0..ntok - 3).step_by(n) {
                    let a: Vec<&[u8]> = acts[t0..t0 + n].iter().map(|a| a.as_slice()).collect();
                    k(p, &a, &mut out);
                    sum += out[0][0];
                }
            }
            let e = s.elapsed().as_secs_f64();
            println!(
                "n={n}: {:.1} GMAC/s",
                (npan * 8 * cols * (ntok - 3)) as f64 / e / 1e9
            );
        }
        let s = Instant::now();
        let mut out2 = [[[0f32; 8]; 4]; 2];
        let mut sum = 0.0;
        for pp in panels.chunks(2) {
            for t0 in (0..ntok).step_by(2) {
                unsafe {
                    tensor::cpu::x86_avx2::panel2_q4_0_avx2::<2>(
                        [&pp[0], &pp[1]],
                        [&acts[t0], &acts[t0 + 1]],
                        &mut out2,
                    );
                }
                sum += out2[0][0][0];
            }
        }
        let e = s.elapsed().as_secs_f64();
        println!(
            "two: {:.1} GMAC/s ({sum})",
            (npan * 8 * cols * ntok) as f64 / e / 1e9
        );
    }
}
