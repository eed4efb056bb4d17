#!/usr/bin/python3
"""The seed ETL, training and prediction in pandas + xgboost: the baseline
chain_bench compares bucketd's stages with. Same files (the bucket's
DATA/UNZIP_DATA_APPEND_ALL/), same decisions (DATA.md), same parameters
(etc/seed/sql/parameters_ETL.json), same company-grouped split and models.

usage: chain_pandas.py BUCKET_DIR YYYYMMDD CONFIG_DIR OUT_JSON
"""
import json
import os
import re
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb

bucket, date, config, out_path = sys.argv[1:5]
params = json.load(open(os.path.join(config, "sql", "parameters_ETL.json")))
seed, per_user = int(params.get("seed", 42)), int(params.get("non_users_per_user", 3))
as_of = pd.Timestamp(f"{date[:4]}-{date[4:6]}-{date[6:]}")

TEXT = {"REGNUMBER", "COMPANYNAME", "COMPANYTYPE", "COMPANYSTATUS", "INCORPORATIONDATE", "SICCODE", "POSTCODE",
        "ACCOUNTSDATE", "ACCOUNTSTYPE", "CHARGEID", "CREATEDDATE", "CHARGETYPE", "STATUS", "SATISFIEDDATE",
        "PERSONENTITLED", "CODE", "DESCRIPTION", "ISACTIVE", "SECTION"}
KEYS = {"CI01": ["REGNUMBER"], "AC01": ["REGNUMBER", "ACCOUNTSDATE"], "AC06": ["REGNUMBER", "ACCOUNTSDATE"],
        "MR01": ["CHARGEID"]}


def fnv_fraction(text):
    h = 0xcbf29ce484222325
    for c in text.encode():
        h ^= c
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h / 2.0 ** 64


def fnv64(text):
    h = 0xcbf29ce484222325
    for c in text.encode():
        h ^= c
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def normalise(name):
    s = "".join(" AND " if c == "&" else "" if c == "." else c.upper() if c.isalnum() or ord(c) >= 0x80 else " "
                for c in name)
    words = ["LIMITED" if w == "LTD" else w for w in s.split()]
    if words and words[0] == "THE":
        words = words[1:]
    return " ".join(words)


t0 = time.time()
stamps = sorted(re.search(r"(\d{8})", f).group(1) for f in os.listdir(os.path.join(bucket, "LOGS_FTP_EXECUTION")))
stamps = [s for s in stamps if s <= date]
tables = {}
for name in ["CI01", "AC01", "AC06", "MR01", "MR02", "LUCT01", "LULQ01", "LUAT01", "LUFT01", "LUSC01", "LUSC02"]:
    parts = []
    for k, s in enumerate(stamps):
        path = os.path.join(bucket, "DATA/UNZIP_DATA_APPEND_ALL", name, f"{name}_M_{s}.txt")
        df = pd.read_csv(path, sep="|", dtype={c: str for c in TEXT}, keep_default_na=False, na_values=[""])
        df["_D"] = k
        parts.append(df)
    df = pd.concat(parts, ignore_index=True)
    if name in KEYS:
        df = df.drop_duplicates(KEYS[name], keep="last")
    elif name == "MR02":
        latest = df.groupby("CHARGEID")["_D"].transform("max")
        df = df[df["_D"] == latest]
    else:
        df = df.drop_duplicates(["CODE"], keep="last")
    tables[name] = df
load_s = time.time() - t0

t0 = time.time()
lenders = pd.read_csv(os.path.join(config, "sql", "person_entitled_adjusted.csv"), dtype=str)
lenders["NAME"] = lenders["NAME"].map(normalise)
providers = set(lenders.loc[lenders["IS_INVOICE_FINANCE"] == "1", "NAME"])
other_types = set(pd.read_csv(os.path.join(config, "sql", "other_company_types.csv"), dtype=str)["CODE"])
mr02 = tables["MR02"]
if_charges = set(mr02.loc[mr02["PERSONENTITLED"].map(normalise).isin(providers), "CHARGEID"])
mr01 = tables["MR01"]
users = mr01[mr01["CHARGEID"].isin(if_charges)].groupby("REGNUMBER")["CREATEDDATE"].min().rename("USERDATE")

a = tables["AC01"].drop(columns="_D").merge(tables["AC06"].drop(columns="_D"), on=["REGNUMBER", "ACCOUNTSDATE"],
                                            how="left")
c = tables["CI01"][["REGNUMBER", "COMPANYTYPE", "COMPANYSTATUS", "INCORPORATIONDATE", "SICCODE", "EMPLOYEES"]]
s = a.merge(c, on="REGNUMBER", how="inner").sort_values(["REGNUMBER", "ACCOUNTSDATE"])
g = s.groupby("REGNUMBER", sort=False)
for col in ["ACCOUNTSDATE", "TURNOVER", "TRADEDEBTORS", "CASH", "CURRENTASSETS", "CURRENTLIABILITIES", "NETWORTH",
            "WAGES"]:
    s["PREV_" + col] = g[col].shift(1)
s = s.merge(users, left_on="REGNUMBER", right_index=True, how="left")
sic = tables["LUSC01"].set_index("CODE")["SECTION"]
section = s["SICCODE"].map(sic)
section = section.where(section.notna() & (section != "") & (s["SICCODE"] != "99999"), "UNKNOWN")
grp = s["COMPANYTYPE"].where(~s["COMPANYTYPE"].isin(other_types), "OTHER")


def ratio(n, d):
    d = d.where(d != 0)
    return n / d


def growth(cur, prev):
    p = prev.where(prev != 0)
    return (cur - p) / p.abs()


d = pd.to_datetime(s["ACCOUNTSDATE"])
ud = pd.to_datetime(s["USERDATE"])
f = pd.DataFrame({
    "REGNUMBER": s["REGNUMBER"], "ACCOUNTSDATE": s["ACCOUNTSDATE"],
    "LABEL": ((ud > d) & (ud <= d + pd.DateOffset(months=12))).astype(int),
    "USERDATE": s["USERDATE"], "COMPANY_TYPE_GROUP": grp, "SECTION": section,
    "ACCOUNTS_TYPE_CODE": s["ACCOUNTSTYPE"].map({"MIC": 1, "SML": 2, "MED": 3, "FUL": 4, "GRP": 5}),
    "COMPANY_TYPE_CODE": grp.map({"PRI": 1, "GUA": 2, "LLP": 3, "PLC": 4}).fillna(5),
    "SECTION_CODE": section.map(lambda x: 0 if x == "UNKNOWN" else ord(x) - 64),
    "AGE_YEARS": (d - pd.to_datetime(s["INCORPORATIONDATE"])).dt.days / 365.25,
})
for col in ["EMPLOYEES", "TURNOVER", "GROSSPROFIT", "OPERATINGPROFIT", "PRETAXPROFIT", "FIXEDASSETS", "TRADEDEBTORS",
            "CASH", "CURRENTASSETS", "TRADECREDITORS", "CURRENTLIABILITIES", "LONGTERMLIABILITIES", "NETWORTH",
            "WAGES", "EXPORTS", "DIRECTORSREMUNERATION", "AUDITFEES"]:
    f[col] = s[col]
f["DEBTOR_DAYS"] = ratio(s["TRADEDEBTORS"] * 365.0, s["TURNOVER"])
f["CREDITOR_DAYS"] = ratio(s["TRADECREDITORS"] * 365.0, s["TURNOVER"])
f["LIQUIDITY"] = ratio(s["CASH"], s["CURRENTLIABILITIES"])
f["CURRENT_RATIO"] = ratio(s["CURRENTASSETS"], s["CURRENTLIABILITIES"])
f["GROSS_MARGIN"] = ratio(s["GROSSPROFIT"], s["TURNOVER"])
f["OPERATING_MARGIN"] = ratio(s["OPERATINGPROFIT"], s["TURNOVER"])
f["EQUITY_RATIO"] = ratio(s["NETWORTH"], s["CURRENTASSETS"] + s["FIXEDASSETS"])
f["WAGES_TO_TURNOVER"] = ratio(s["WAGES"], s["TURNOVER"])
f["TURNOVER_GROWTH"] = growth(s["TURNOVER"], s["PREV_TURNOVER"])
f["DEBTORS_GROWTH"] = growth(s["TRADEDEBTORS"], s["PREV_TRADEDEBTORS"])
f["CASH_GROWTH"] = growth(s["CASH"], s["PREV_CASH"])
f["CURRENTASSETS_GROWTH"] = growth(s["CURRENTASSETS"], s["PREV_CURRENTASSETS"])
f["CURRENTLIABILITIES_GROWTH"] = growth(s["CURRENTLIABILITIES"], s["PREV_CURRENTLIABILITIES"])
f["NETWORTH_GROWTH"] = growth(s["NETWORTH"], s["PREV_NETWORTH"])
f["WAGES_GROWTH"] = growth(s["WAGES"], s["PREV_WAGES"])
pd_ = pd.to_datetime(s["PREV_ACCOUNTSDATE"])
f["GAP_MONTHS"] = (d.dt.year * 12 + d.dt.month) - (pd_.dt.year * 12 + pd_.dt.month)
f = f[ud.isna() | (d < ud)]

eligible = f[pd.to_datetime(f["ACCOUNTSDATE"]) + pd.DateOffset(months=12) <= as_of]
user_cos = eligible.loc[eligible["USERDATE"].notna(), "REGNUMBER"].nunique()
non_cos = eligible.loc[eligible["USERDATE"].isna(), "REGNUMBER"].nunique()
fraction = min(1.0, per_user * user_cos / max(1, non_cos))
chosen = eligible["REGNUMBER"].drop_duplicates()
chosen = set(chosen[chosen.map(lambda r: fnv_fraction(f"{seed}:{r}") < fraction)])
training = eligible[eligible["USERDATE"].notna() | eligible["REGNUMBER"].isin(chosen)]
newest = tables["AC01"].groupby("REGNUMBER")["ACCOUNTSDATE"].max()
active = set(tables["LULQ01"].loc[tables["LULQ01"]["ISACTIVE"] == "Y", "CODE"])
ci = tables["CI01"].set_index("REGNUMBER")["COMPANYSTATUS"]
prediction = f[f["USERDATE"].isna() & (f["ACCOUNTSDATE"] == f["REGNUMBER"].map(newest)) &
               f["REGNUMBER"].map(ci).isin(active)]
etl_s = time.time() - t0

t0 = time.time()
features = [c for c in training.columns if c not in
            {"REGNUMBER", "ACCOUNTSDATE", "LABEL", "USERDATE", "COMPANY_TYPE_GROUP", "SECTION"}]
pos = training.groupby("REGNUMBER")["LABEL"].max()
hold = set()
for stratum in (0, 1):
    regs = sorted(pos[pos == stratum].index, key=lambda r: (fnv64(f"{seed}:split:{r}"), r))
    hold.update(regs[:int(round(0.1 * len(regs)))])
is_hold = training["REGNUMBER"].isin(hold)
tr, ho = training[~is_hold], training[is_hold]
dtrain = xgb.DMatrix(tr[features].astype("float32"), label=tr["LABEL"], missing=np.nan)
dho = xgb.DMatrix(ho[features].astype("float32"), label=ho["LABEL"], missing=np.nan)
base = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 4, "eta": 0.05, "subsample": 0.8,
        "colsample_bytree": 0.8, "min_child_weight": 5, "nthread": 2, "seed": seed, "verbosity": 0}
neg_pos = (len(tr) - tr["LABEL"].sum()) / tr["LABEL"].sum()
models = {"precision": xgb.train({**base, "scale_pos_weight": 1}, dtrain, 300),
          "recall": xgb.train({**base, "scale_pos_weight": neg_pos, "max_delta_step": 1}, dtrain, 300)}
train_s = time.time() - t0


def auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    ranks = pd.Series(scores[order]).rank(method="average").to_numpy()
    y = labels[order]
    n1 = y.sum()
    n0 = len(y) - n1
    return (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


aucs = {k: auc(m.predict(dho), ho["LABEL"].to_numpy()) for k, m in models.items()}

t0 = time.time()
dpred = xgb.DMatrix(prediction[features].astype("float32"), missing=np.nan)
out = prediction.copy()
out["PROBA_PRECISION"] = models["precision"].predict(dpred)
out["PROBA_RECALL"] = models["recall"].predict(dpred)
out.to_csv(os.path.join(os.path.dirname(out_path), "python_full_prediction.csv"), index=False)
predict_s = time.time() - t0

json.dump({"load_s": load_s, "etl_s": etl_s, "train_s": train_s, "predict_s": predict_s,
           "training_rows": len(training), "prediction_rows": len(prediction),
           "auc_precision": aucs["precision"], "auc_recall": aucs["recall"]}, open(out_path, "w"))
