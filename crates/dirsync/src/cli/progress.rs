//! Progress output of `plan` and `sync`: a bar with rate and ETA on a
//! terminal, plain lines otherwise, `progress` log events with JSON logs.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use crate::config::{self};

/// Progress output: a bar with rate and ETA on a terminal, plain lines
/// otherwise, nothing with --json.
///
/// With JSON logs (`log.format = "json"`) progress goes to the log as
/// `progress` events instead, so stderr stays one JSON object per line.
pub fn progress_printer(json: bool, log_format: config::LogFormat) -> crate::agent::ProgressFn {
    let tty = std::io::stderr().is_terminal();
    let log_json = log_format == config::LogFormat::Json;
    let bars = PhaseBars::default();
    Arc::new(move |p: &crate::agent::ProgressEvent| {
        let milestone = p.done == 0 || p.done >= p.total || p.done.is_multiple_of(50);
        if log_json {
            if milestone {
                tracing::info!(phase = %p.phase, done = p.done, total = p.total, "progress");
            }
            return;
        }
        if json {
            return;
        }
        if tty {
            bars.show(p);
        } else if milestone {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}: {}/{}",
                p.phase,
                p.done,
                p.total
            );
        }
    })
}

/// One indicatif bar per phase: a finished phase's bar stays on screen and
/// the next phase starts a new one, with its own rate and ETA.
///
/// The apply phase is paced by the client's rolling-minute write limit (30
/// by default): a burst of writes, then a wait of up to a minute, again and
/// again for hours. indicatif's own estimate (recent seconds weigh most)
/// swings between the two: it showed `ETA 0s` through a wait and `18m` for
/// the 20 writes right after it. So the bar shows the phase's average rate
/// and the ETA from it, and ticks every second so both keep moving while the
/// limiter holds the writes back (docs/architecture.md has the figures).
#[derive(Default)]
struct PhaseBars(std::sync::Mutex<Option<(String, indicatif::ProgressBar)>>);

impl PhaseBars {
    fn show(&self, p: &crate::agent::ProgressEvent) {
        let mut cur = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cur.as_ref().is_none_or(|(phase, _)| *phase != p.phase) {
            if let Some((_, old)) = cur.take() {
                end_line(&old);
            }
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(p.total),
                // Draws only when stderr is a terminal.
                indicatif::ProgressDrawTarget::stderr(),
            )
            .with_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:<10} [{bar:30}] {pos}/{len}  {rate}  ETA {left}",
                )
                .expect("a valid progress template")
                .with_key(
                    "rate",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&rate_text(average_rate(s.pos(), s.elapsed())));
                    },
                )
                .with_key(
                    "left",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let total = s.len().unwrap_or(0);
                        let _ = w.write_str(&eta_text(s.pos(), total, s.elapsed()));
                    },
                )
                .progress_chars("##-"),
            )
            .with_message(p.phase.clone());
            bar.enable_steady_tick(std::time::Duration::from_secs(1));
            *cur = Some((p.phase.clone(), bar));
        }
        let Some((_, bar)) = cur.as_ref() else {
            return;
        };
        if bar.length() != Some(p.total) {
            bar.set_length(p.total);
        }
        bar.set_position(p.done);
        if p.total > 0 && p.done >= p.total {
            end_line(bar);
        }
    }
}

/// Leaves a bar on screen as it is and moves below it (once), so that the
/// next bar, a log line or the report starts on a line of its own.
fn end_line(bar: &indicatif::ProgressBar) {
    if !bar.is_finished() {
        bar.abandon();
        let _ = writeln!(std::io::stderr());
    }
}

impl Drop for PhaseBars {
    /// The run is over (its progress sink is dropped): end a bar left open
    /// by a phase that stopped early.
    fn drop(&mut self) {
        if let Some((_, bar)) = self.0.get_mut().ok().and_then(Option::take) {
            end_line(&bar);
        }
    }
}

/// Items per second since the phase started (`NaN` before anything is done).
fn average_rate(done: u64, elapsed: std::time::Duration) -> f64 {
    done as f64 / elapsed.as_secs_f64()
}

/// Time left at the phase's average rate so far: `17h 03m`, `12m 05s`, `45s`;
/// `-` while nothing is done yet.
fn eta_text(done: u64, total: u64, elapsed: std::time::Duration) -> String {
    if done >= total {
        return "0s".into();
    }
    let rate = average_rate(done, elapsed);
    if !rate.is_finite() || rate <= 0.0 {
        return "-".into();
    }
    let secs = ((total - done) as f64 / rate)
        .ceil()
        .min(u64::MAX as f64 / 2.0) as u64;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Items per second as shown on the bar: per minute below one a second
/// (an API-paced apply phase runs at 0.5/s, shown as 30.0/min).
fn rate_text(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "-".into()
    } else if per_sec < 1.0 {
        format!("{:.1}/min", per_sec * 60.0)
    } else {
        format!("{per_sec:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::{eta_text, rate_text};
    use std::time::Duration;

    #[test]
    fn rate_per_second_or_per_minute() {
        for (per_sec, shown) in [
            (0.5, "30.0/min"),
            (0.01, "0.6/min"),
            (1.0, "1/s"),
            (310.3552, "310/s"),
            (0.0, "-"),
            (f64::NAN, "-"),
            (f64::INFINITY, "-"),
        ] {
            assert_eq!(rate_text(per_sec), shown, "{per_sec}");
        }
    }

    #[test]
    fn eta_from_the_average_rate() {
        let min = |m: u64| Duration::from_secs(m * 60);
        for (done, total, elapsed, shown) in [
            // 30 writes a minute, 30,000 to go: about 17 hours (the 10,000 users).
            (300, 30_300, min(10), "16h 40m"),
            // A burst of 20 writes, then the limiter's wait: the ETA grows while it waits.
            (20, 40, Duration::from_millis(200), "1s"),
            (20, 40, Duration::from_secs(30), "30s"),
            (20, 40, Duration::from_secs(59), "59s"),
            (1, 61, min(1), "1h 00m"),
            (5, 10, Duration::from_secs(150), "2m 30s"),
            (0, 10, min(1), "-"),
            (0, 10, Duration::ZERO, "-"),
            (10, 10, Duration::ZERO, "0s"),
            (12, 10, min(1), "0s"),
        ] {
            assert_eq!(
                eta_text(done, total, elapsed),
                shown,
                "{done}/{total} in {elapsed:?}"
            );
        }
    }
}
