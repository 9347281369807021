//! The finite-n two-sided Kolmogorov distribution `P(D_n >= x)` and Smirnov's one-sided
//! distribution, following Simard & L'Ecuyer (2011), "Computing the two-sided
//! Kolmogorov–Smirnov distribution", J. Statistical Software 39(11), in the same branch
//! structure as scipy's `kstwo` (scipy/stats/_ksstats.py), so that asymptotic two-sample
//! p-values agree with `scipy.stats.ks_2samp(method="asymp")`.
//!
//! Methods: Ruben–Gambino closed forms at the extremes; Durbin's matrix (Marsaglia, Tsang
//! & Wang 2003) for small `n x²`; Pomeranz (1974) for moderate `n x²` when `n <= 140`; the
//! Pelz–Good (1976) expansion for large n; twice Smirnov's one-sided tail (Birnbaum &
//! Tingey 1951 sum) in the upper tail.

const E128: i32 = 128;
const SQRT2PI: f64 = 2.506_628_274_631_000_7;
const LOG_2PI: f64 = 1.837_877_066_409_345_5;
const MIN_LOG: f64 = -708.0;
const PI2: f64 = std::f64::consts::PI * std::f64::consts::PI;
const PI4: f64 = PI2 * PI2;
const PI6: f64 = PI4 * PI2;

fn ep128() -> f64 {
    2f64.powi(E128)
}
fn em128() -> f64 {
    2f64.powi(-E128)
}

fn ldexp(x: f64, e: i32) -> f64 {
    // Split to avoid overflow of 2^e for large |e|.
    let mut x = x;
    let mut e = e;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// `ln(n! / n^n)` by Stirling's series (as scipy's `_log_nfactorial_div_n_pow_n`).
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    // Bernoulli-number coefficients B_{2j}/(2j)/(2j−1), j = 8..1, as written in SciPy.
    #[allow(clippy::excessive_precision)]
    const C: [f64; 8] = [
        -2.955_065_359_477_124_183e-2,
        6.410_256_410_256_410_256_4e-3,
        -1.917_526_917_526_917_526_9e-3,
        8.417_508_417_508_417_508_4e-4,
        -5.952_380_952_380_952_381e-4,
        7.936_507_936_507_936_507_9e-4,
        -2.777_777_777_777_777_777_8e-3,
        8.333_333_333_333_333_333_3e-2,
    ];
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = C.iter().fold(0.0, |acc, c| acc * x + c);
    n.ln() / 2.0 - n + LOG_2PI / 2.0 + rn * poly
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                c[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    c
}

/// `P(D_n <= d)` by Durbin's matrix method (Marsaglia, Tsang & Wang 2003).
fn kolmogn_dmtw(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hmat = vec![0.0; m * m];
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        // H[i-1:, i] = w[:m-i+1]
        for (r, wv) in (i - 1..m).zip(w.iter()) {
            hmat[r * m + i] = *wv;
        }
    }
    for r in 0..m {
        hmat[r * m] = v[r];
    }
    for c in 0..m {
        hmat[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut hpwr = vec![0.0; m * m];
    for i in 0..m {
        hpwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i32 = 0;
    let mut hexpnt: i32 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            hpwr = matmul(&hpwr, &hmat, m);
            expnt += hexpnt;
        }
        hmat = matmul(&hmat, &hmat, m);
        hexpnt *= 2;
        if hmat[(k - 1) * m + (k - 1)].abs() > ep128() {
            for x in hmat.iter_mut() {
                *x /= ep128();
            }
            hexpnt += E128;
        }
        nn /= 2;
    }
    let mut p = hpwr[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < em128() {
            p *= ep128();
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    clip(p)
}

fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n <= x)` by Pomeranz's recursion (1974).
fn kolmogn_pomeranz(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let ni = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    let (gn, tgn, omgn) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * gn / m as f64;
        twogpower[m] = twogpower[m - 1] * tgn / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * omgn / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s): (i64, i64) = (0, 0);
    let mut expnt: i32 = 0;
    let (mut j1, _) = pomeranz_j1j2(0, ni, ll, ceilf, roundf);
    let mut conv = vec![0.0; 2 * npwrs];
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        let (nj1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let ln2 = ln2 as usize;
            let start = (k1 - v0s) as usize;
            // Full convolution of a = V0[start..start+ln2] (clipped to the row) and pwrs[..ln2].
            let a_end = (start + ln2).min(npwrs);
            let a = &v0[start.min(npwrs)..a_end];
            let b = &pwrs[..ln2.min(npwrs)];
            let clen = a.len() + b.len() - 1;
            conv[..clen].iter_mut().for_each(|x| *x = 0.0);
            for (ia, av) in a.iter().enumerate() {
                if *av == 0.0 {
                    continue;
                }
                for (ib, bv) in b.iter().enumerate() {
                    conv[ia + ib] += av * bv;
                }
            }
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for c in 0..conv_len {
                v1[c] = if conv_start + c < clen {
                    conv[conv_start + c]
                } else {
                    0.0
                };
            }
            let mx = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < mx && mx < em128() {
                v1.iter_mut().for_each(|x| *x *= ep128());
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(ni - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > ep128() {
            ans *= em128();
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    clip(ans)
}

/// Pelz–Good (1976) approximation to `P(D_n <= x)`.
fn kolmogn_pelz_good(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z * z * z, z.powi(4), z.powi(6));
    let qlog = -PI2 / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -z2;
    let k1b = PI2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * PI2 / 4.0;
    let k2c = PI4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = PI6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = PI4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = PI2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / std::f64::consts::PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qp = q.powf(8.0 * k as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (a, c) in kk.iter_mut().zip(coeffs) {
            *a = *a * qp + c;
        }
    }
    let den = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (a, d) in kk.iter_mut().zip(den) {
        *a = *a * q * SQRT2PI / d;
    }
    let q2 = (-PI2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    // numpy sums these arrays pairwise; the terms decay fast, so order barely matters.
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let ks2 = kf * kf;
        let qp = q2.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = std::f64::consts::PI * kf;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    kk[2] += k2extra * PI2 * SQRT2PI / (-36.0 * z3);
    kk[3] += k3extra * PI2 * SQRT2PI / (216.0 * z6);
    for (i, a) in kk.iter_mut().enumerate() {
        *a /= nf.powf(i as f64 / 2.0);
    }
    kk.iter().sum()
}

/// Smirnov's one-sided upper tail `P(D_n^+ >= x)` (scipy.special.smirnov), by the
/// Birnbaum–Tingey sum `x Σ_{j=0}^{⌊n(1−x)⌋} C(n,j) (1 − x − j/n)^{n−j} (x + j/n)^{j−1}`
/// evaluated in log space, with the special cases of the Cephes/xsf implementation.
pub fn smirnov(n: u64, x: f64) -> f64 {
    if !(n > 0 && (0.0..=1.0).contains(&x)) {
        return f64::NAN;
    }
    let nf = n as f64;
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nx = nf * x;
    let nxfl = nx.floor();
    let alpha = nx - nxfl;
    if nxfl == 0.0 || (nxfl == 1.0 && alpha == 0.0) {
        let t = (1.0 + x).powf(nf - 1.0);
        return clip(1.0 - x * t);
    }
    if -2.0 * nf * x * x < -708.396_418_532_264_1 {
        return 0.0;
    }
    if nxfl >= nf - 1.0 {
        return (1.0 - x).powf(nf);
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        return if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            1.0 + logp.exp_m1()
        };
    }
    // Lower sum; terms j = 0..=n1mxfl, where the last term is dropped when n x is an integer.
    let mut n1mxfl = n as i64 - nxfl as i64 - i64::from(alpha != 0.0);
    if alpha == 0.0 {
        n1mxfl -= 1;
    }
    let mut sum = 0.0;
    let mut log_c = 0.0; // ln C(n, j)
    let lx = x;
    for j in 0..=n1mxfl {
        let jf = j as f64;
        if j > 0 {
            log_c += ((nf - jf + 1.0) / jf).ln();
        }
        let t2x = (nf - jf) / nf - lx;
        let t1x = jf / nf + lx;
        let lt = log_c + (nf - jf) * t2x.ln() + (jf - 1.0) * t1x.ln();
        let a = lt.exp();
        sum += a;
        if a != 0.0 && 4.0 * ((n1mxfl + 1 - j) as f64) * a < f64::EPSILON * sum && j != n1mxfl {
            break;
        }
    }
    clip(x * sum)
}

/// The survival function `P(D_n >= x)` of the two-sided one-sample Kolmogorov–Smirnov
/// statistic for a sample of size `n` (scipy's `kstwo.sf(x, n)`).
pub fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            (1..=n).fold(1.0, |acc, i| acc * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - prob);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov(n, x));
    }
    let nx2 = t * x;
    if n <= 140 {
        if nx2 <= 0.754693 {
            return clip(1.0 - kolmogn_dmtw(n, x));
        }
        if nx2 <= 4.0 {
            return clip(1.0 - kolmogn_pomeranz(n, x));
        }
        return clip(2.0 * smirnov(n, x));
    }
    if nx2 >= 370.0 {
        return 0.0;
    }
    if nx2 >= 2.2 {
        return clip(2.0 * smirnov(n, x));
    }
    let cdf = if nx2 >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogn_dmtw(n, x)
    } else {
        kolmogn_pelz_good(n, x)
    };
    clip(1.0 - cdf)
}
