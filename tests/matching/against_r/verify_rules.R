# Checks, on data.csv, the MatchIt 4.5.1 rules documented in README.md by
# recomputing MatchIt's outputs by hand (plain R, no MatchIt internals).
# Run from the repository root after make_reference.R:
#   Rscript tests/matching/against_r/verify_rules.R
suppressPackageStartupMessages(library(MatchIt))
args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[startsWith(args, "--file=")])
here <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "tests/matching/against_r"
d <- read.csv(file.path(here, "data.csv"), stringsAsFactors = FALSE)
ref <- function(sc, part) read.csv(file.path(here, "reference", paste0(sc, "_", part, ".csv")),
                                   check.names = FALSE, stringsAsFactors = FALSE)
ok <- function(label, cond) { if (!isTRUE(cond) && exists("mine") && exists("theirs")) { print(signif(mine - theirs, 3)) }; cat(sprintf("%-72s %s\n", label, if (isTRUE(cond)) "OK" else "FAILED")); if (!isTRUE(cond)) quit(status = 1) }
close <- function(a, b, tol = 1e-12) isTRUE(all.equal(unname(a), unname(b), tolerance = tol))

# ---- distance: glm quasibinomial fit, response (logit) or link (linear.logit) scale
fit <- glm(treat ~ x1 + x2 + b + c, data = d, family = binomial)
u_nn <- ref("nn", "units"); u_cal <- ref("nn_caliper", "units")
ok("distance (logit) = fitted probability", close(u_nn$distance, fitted(fit), 1e-10))
ok("distance (linear.logit) = linear predictor", close(u_cal$distance, predict(fit, type = "link"), 1e-10))

# ---- (b) caliper = 0.2 * sd(distance over ALL units, n - 1), on the link scale
cal <- 0.2 * sd(u_cal$distance)
ok("caliper = 0.2 * sd(all linear.logit distances)", close(cal, 0.22999286299193225, 1e-14))
p_cal <- ref("nn_caliper", "pairs")
dd <- abs(u_cal$distance[match(p_cal$treated_id, u_cal$id)] - u_cal$distance[match(p_cal$control_id_1, u_cal$id)])
ok("all matched pairs have |d_t - d_c| <= caliper", all(dd[!is.na(dd)] <= cal))

# ---- (e) weights with ratio = 2, replace = TRUE
u <- ref("nn_ratio2_replace", "units"); p <- ref("nn_ratio2_replace", "pairs")
ctrl <- c(p$control_id_1, p$control_id_2)
raw <- tapply(rep(1 / 2, length(ctrl)), ctrl, sum)             # sum over matches of 1/(#controls of that treated)
raw <- raw * sum(raw > 0) / sum(raw)                         # rescale: control weights sum to # matched controls
w0 <- setNames(rep(0, nrow(u)), u$id); w0[names(raw)] <- raw
w <- ifelse(u$treat == 1, as.numeric(u$id %in% p$treated_id[!is.na(p$control_id_1)]), w0[as.character(u$id)])
ok("ratio2/replace weights = (times matched / 2) * n0_matched / sum", close(u$weights, w, 1e-14))

# ---- (d) summary() recomputed by hand for every scenario
wmean <- function(x, w) sum(w * x) / sum(w)
wvar <- function(x, w, bin) {                 # MatchIt's variance
  w <- w / sum(w); m <- sum(w * x)
  if (bin) m * (1 - m) else sum(w * (x - m)^2) / (1 - sum(w^2))
}
ecdf_stats <- function(x, t, w) {             # weighted eCDF differences at every distinct x of ALL units
  w[t == 1] <- w[t == 1] / sum(w[t == 1]); w[t == 0] <- w[t == 0] / sum(w[t == 0])
  xs <- sort(unique(x))
  F1 <- sapply(xs, function(v) sum(w[t == 1 & x <= v])); F0 <- sapply(xs, function(v) sum(w[t == 0 & x <= v]))
  e <- abs(F1 - F0); c(mean(e), max(e))
}
by_hand <- function(x, t, w, mm_t, mm_c, matched) {
  bin <- all(x == 0 | x == 1)
  m1 <- wmean(x[t == 1], w[t == 1]); m0 <- wmean(x[t == 0], w[t == 0])
  sd1 <- sqrt(wvar(x[t == 1], rep(1, sum(t == 1)), bin))   # treated SD in the FULL sample, unweighted
  diff <- m1 - m0
  smd <- if (abs(diff) > sqrt(.Machine$double.eps)) diff / sd1 else diff
  vr <- if (bin) NA else wvar(x[t == 1], w[t == 1], FALSE) / wvar(x[t == 0], w[t == 0], FALSE)
  ec <- if (bin) rep(abs(diff), 2) else ecdf_stats(x, t, w)
  pd <- NA
  if (matched) {
    pd <- mean(abs(mm_t - mm_c), na.rm = TRUE)
    if (abs(diff) > sqrt(.Machine$double.eps) && pd > 1e-8) pd <- pd / sd1
  }
  c(m1, m0, smd, vr, ec, pd)
}
for (sc in c("nn", "nn_caliper", "nn_exact", "nn_exact_caliper", "nn_ratio2_replace")) {
  un <- ref(sc, "units"); pr <- ref(sc, "pairs")
  X <- cbind(distance = un$distance, x1 = d$x1, x2 = d$x2, b = d$b,
             cA = as.numeric(d$c == "A"), cB = as.numeric(d$c == "B"), cC = as.numeric(d$c == "C"))
  if (grepl("exact", sc)) X <- cbind(X, blockprimary = as.numeric(d$block == "primary"),
                                      blocksecondary = as.numeric(d$block == "secondary"))
  t <- d$treat
  for (part in c("all", "matched")) {
    tab <- ref(sc, paste0("balance_", part))
    ok(sprintf("%s balance_%s: terms", sc, part), identical(tab$term, colnames(X)))
    w <- if (part == "all") rep(1, nrow(d)) else un$weights
    mine <- t(sapply(colnames(X), function(v) {
      x <- X[, v]
      cc <- as.matrix(pr[, -1, drop = FALSE])
      by_hand(x, t, w, x[match(pr$treated_id, d$id)], matrix(x[match(cc, d$id)], nrow(cc)), part == "matched")
    }))
    theirs <- as.matrix(tab[, -1])
    ok(sprintf("%s balance_%s: all 7 columns by hand (each: |diff| <= 1e-12 + 1e-10*|ref|)", sc, part),
       identical(unname(is.na(mine)), unname(is.na(theirs))) &&
         all(abs(mine - theirs) <= 1e-12 + 1e-10 * abs(theirs), na.rm = TRUE))
  }
}
# ---- (a) ties, on tiny hand-made data with a user-supplied distance vector.
# The references use MatchIt's generic routine nn_matchC (see make_reference.R).
ns <- asNamespace("MatchIt")
fast_dispatch <- get("nn_matchC_dispatch", ns)
use_generic <- function(on) {
  unlockBinding("nn_matchC_dispatch", ns)
  assign("nn_matchC_dispatch", if (on) function(treat, ord, ratio, discarded, reuse.max, distance,
      distance_mat, ex, caliper.dist, caliper.covs, caliper.covs.mat, mahcovs, antiexactcovs,
      unit.id, verbose) MatchIt:::nn_matchC(treat, ord, ratio, discarded, reuse.max, distance,
      distance_mat, ex, caliper.dist, caliper.covs, caliper.covs.mat, mahcovs, antiexactcovs,
      unit.id, verbose) else fast_dispatch, envir = ns)
  lockBinding("nn_matchC_dispatch", ns)
}
mm_of <- function(treat, dist, ...) {
  dd <- data.frame(treat = treat, z = seq_along(treat)); rownames(dd) <- seq_along(treat)
  m <- suppressWarnings(matchit(treat ~ z, data = dd, distance = dist, ...)); m$match.matrix
}
use_generic(TRUE)
# one treated at 0.5, equidistant controls at 0.25 and 0.75 (exact in binary floating point)
ok("generic: equidistant controls -> first in data order (0.25 listed first)",
   mm_of(c(1, 0, 0), c(0.5, 0.25, 0.75))[1, 1] == "2")
ok("generic: equidistant controls -> first in data order (0.75 listed first)",
   mm_of(c(1, 0, 0), c(0.5, 0.75, 0.25))[1, 1] == "2")
# two treated with the same distance compete for one close control: first in data order wins
mmt <- mm_of(c(1, 1, 0, 0), c(0.5, 0.5, 0.5, 0.9))
ok("tied treated units are processed in data order (order(), stable)", mmt["1", 1] == "3" && mmt["2", 1] == "4")
# m.order = "largest": the treated unit with the larger distance chooses first
mml <- mm_of(c(1, 1, 0, 0), c(0.40, 0.60, 0.52, 0.10))
ok("largest distance first: unit 2 (0.60) takes control 3 (0.52)", mml["2", 1] == "3" && mml["1", 1] == "4")
# caliper comparison is inclusive (diff <= caliper); std.caliper = FALSE to give it in distance units
ok("caliper inclusive: |0.75 - 0.5| = 0.25 <= 0.25 matches",
   mm_of(c(1, 0, 0), c(0.5, 0.75, 1.0), caliper = 0.25, std.caliper = FALSE)[1, 1] == "2")
ok("caliper: 0.25 > 0.2499 leaves the treated unit unmatched",
   is.na(mm_of(c(1, 1, 0, 0), c(0.5, 0.9, 0.75, 0.80), caliper = 0.2499, std.caliper = FALSE)["1", 1]))
use_generic(FALSE)
ok("4.5.1 fast path, for contrast: equidistant -> lower distance (left) wins",
   mm_of(c(1, 0, 0), c(0.5, 0.75, 0.25))[1, 1] == "3")
ok("4.5.1 fast path bug: |diff| truncated to integer (0.49 'as close as' 0.01)",
   mm_of(c(1, 0, 0), c(0.5, 0.01, 0.51))[1, 1] == "2")
cat("all checks passed\n")
