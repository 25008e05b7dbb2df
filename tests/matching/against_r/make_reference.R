# Reference outputs of R MatchIt for the Python matching tests.
#
# Run from the repository root (after make_data.py):
#   Rscript tests/matching/against_r/make_reference.R
# Reads tests/matching/against_r/data.csv, writes tests/matching/against_r/reference/.
# Numbers are written with 17 significant digits ("%.17g"), NA as "NA".

suppressPackageStartupMessages(library(MatchIt))

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[startsWith(args, "--file=")])
here <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "tests/matching/against_r"
out_dir <- file.path(here, "reference")
dir.create(out_dir, showWarnings = FALSE)

d <- read.csv(file.path(here, "data.csv"), stringsAsFactors = FALSE)
stopifnot(nrow(d) == 400, !anyDuplicated(d$id))
rownames(d) <- as.character(d$id)   # match.matrix / names then carry ids

# --- Work-around for a bug in the MatchIt 4.5.1 build --------------------
# In 4.5.1, nearest-neighbour matching on a propensity-score *vector* goes
# through the new C++ routine nn_matchC_vec(), which (in this Debian build)
# compares distances with the C integer abs(): |d_i - d_j| is truncated to an
# integer, so on the probability scale every control looks equally close and
# the control just below the treated unit in sort order is always taken; the
# caliper only bites once |d_i - d_j| >= 1; and with ratio > 1 the "already
# matched to this treated unit" check is off by one index (NEWS of later
# MatchIt versions: "Fixed a bug when using method = 'nearest' with
# replace = TRUE and ratio greater than 1").  See README.md, "Known bug".
# MatchIt's older general routine nn_matchC() (the one it uses for distance
# matrices and Mahalanobis matching) computes |d_i - d_j| in double precision,
# so we route the vector case to it.  Every scenario below is then checked
# against an independent brute-force greedy matcher written in plain R.
ns <- asNamespace("MatchIt")
fast_dispatch <- get("nn_matchC_dispatch", ns)
generic_dispatch <- function(treat, ord, ratio, discarded, reuse.max, distance,
                             distance_mat, ex, caliper.dist, caliper.covs,
                             caliper.covs.mat, mahcovs, antiexactcovs, unit.id,
                             verbose) {
  MatchIt:::nn_matchC(treat, ord, ratio, discarded, reuse.max, distance,
                      distance_mat, ex, caliper.dist, caliper.covs,
                      caliper.covs.mat, mahcovs, antiexactcovs, unit.id, verbose)
}
use_dispatch <- function(fun) {
  unlockBinding("nn_matchC_dispatch", ns)
  assign("nn_matchC_dispatch", fun, envir = ns)
  lockBinding("nn_matchC_dispatch", ns)
}

# Independent check: greedy nearest-neighbour matching written out in R.
# Treated units in decreasing distance (stable for ties), each takes the
# available control (same exact stratum) with the smallest |d_i - d_j|
# (first in data order on ties); unmatched if that is > caliper; ratio > 1 is
# done in rounds (all first matches, then all second matches, ...).
brute_force <- function(ps, tr, ratio = 1, replace = FALSE, caliper = Inf,
                        ex = rep(1L, length(ps))) {
  t1 <- which(tr == 1); c0 <- which(tr == 0)
  order_t <- t1[order(ps[t1], decreasing = TRUE)]
  mm <- matrix(NA_integer_, length(t1), ratio)
  row_of <- setNames(seq_along(t1), t1)
  avail <- rep(TRUE, length(ps))
  for (r in seq_len(ratio)) for (i in order_t) {
    ri <- row_of[[as.character(i)]]
    cand <- c0[avail[c0] & ex[c0] == ex[i] & !(c0 %in% mm[ri, ])]
    if (!length(cand)) next
    dd <- abs(ps[cand] - ps[i])
    j <- cand[which.min(dd)]
    if (dd[which.min(dd)] > caliper) next
    mm[ri, r] <- j
    if (!replace) avail[j] <- FALSE
  }
  mm
}

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

write_df <- function(df, path) {
  for (nm in names(df)) if (is.double(df[[nm]])) df[[nm]] <- fmt(df[[nm]])
  write.csv(df, path, row.names = FALSE, quote = FALSE, na = "NA")
}

f <- treat ~ x1 + x2 + b + c
scenarios <- list(
  nn = list(link = "logit"),
  nn_caliper = list(link = "linear.logit", caliper = 0.2, std.caliper = TRUE),
  nn_exact = list(link = "logit", exact = ~block),
  nn_exact_caliper = list(link = "linear.logit", exact = ~block,
                          caliper = 0.2, std.caliper = TRUE),
  nn_ratio2_replace = list(link = "logit", ratio = 2, replace = TRUE)
)

fast_notes <- list()
for (sc in names(scenarios)) {
  a <- c(list(formula = f, data = d, method = "nearest", distance = "glm"),
         scenarios[[sc]])
  if (is.null(a$ratio)) a$ratio <- 1
  if (is.null(a$replace)) a$replace <- FALSE
  use_dispatch(fast_dispatch)
  m_fast <- suppressWarnings(do.call(matchit, a))
  use_dispatch(generic_dispatch)
  m <- do.call(matchit, a)
  use_dispatch(fast_dispatch)

  # check against the brute-force matcher (row order of match.matrix = data order of treated)
  ps <- unname(m$distance)
  bf <- brute_force(ps, d$treat, ratio = a$ratio, replace = a$replace,
                    caliper = if (is.null(m$caliper)) Inf else unname(m$caliper),
                    ex = if (is.null(a$exact)) rep(1L, nrow(d)) else as.integer(factor(d$block)))
  mm_int <- matrix(as.integer(m$match.matrix), nrow(bf))
  # with replacement MatchIt orders the k matches of a row by distance, as does bf
  stopifnot(identical(unname(mm_int), bf))
  n_diff_fast <- sum(m_fast$match.matrix != m$match.matrix, na.rm = TRUE) +
    sum(xor(is.na(m_fast$match.matrix), is.na(m$match.matrix)))
  fast_notes[[sc]] <- sprintf("%s: match.matrix entries where the 4.5.1 fast path (nn_matchC_vec) differs: %d of %d",
                              sc, n_diff_fast, length(bf))

  ids <- as.integer(names(m$treat))
  units <- data.frame(
    id = ids,
    treat = as.integer(m$treat),
    distance = unname(as.double(m$distance)),
    weights = unname(as.double(m$weights)),
    subclass = if (is.null(m$subclass)) NA_character_ else as.character(m$subclass)
  )
  write_df(units, file.path(out_dir, paste0(sc, "_units.csv")))

  mm <- m$match.matrix
  pairs <- data.frame(treated_id = as.integer(rownames(mm)))
  for (j in seq_len(ncol(mm))) {
    pairs[[paste0("control_id_", j)]] <- as.integer(mm[, j])
  }
  write_df(pairs, file.path(out_dir, paste0(sc, "_pairs.csv")))

  s <- summary(m, un = TRUE, standardize = TRUE)
  for (part in c("all", "matched")) {
    tab <- s[[paste0("sum.", part)]]
    bal <- data.frame(term = rownames(tab), tab, check.names = FALSE)
    write_df(bal, file.path(out_dir, sprintf("%s_balance_%s.csv", sc, part)))
  }
  cat(sprintf("%-18s matched treated %d / %d, matched controls %d, caliper %s\n",
              sc, sum(m$weights[m$treat == 1] > 0), sum(m$treat == 1),
              sum(m$weights[m$treat == 0] > 0),
              if (is.null(m$caliper)) "none" else fmt(m$caliper)))
}

writeLines(c(
  paste("R:", R.version.string),
  paste("MatchIt:", as.character(packageVersion("MatchIt"))),
  paste("Rcpp:", as.character(packageVersion("Rcpp"))),
  paste("generated:", format(Sys.Date())),
  "matching routine: MatchIt:::nn_matchC (generic); the 4.5.1 fast path nn_matchC_vec is bypassed (see README)",
  unlist(fast_notes)
), file.path(out_dir, "versions.txt"))
