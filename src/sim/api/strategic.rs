//! Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch) for the fields the
//! simulator's kinds use. Lists with a `patchMergeKey` in the Kubernetes API types (containers,
//! env, volumes, ports, conditions, ownerReferences …) are merged element by element by that
//! key; `finalizers` merges as a set; every other list is replaced, as the real schema says for
//! lists without a patch strategy (tolerations, taints, args …). Directives: `$patch: replace`
//! and `$patch: delete` (maps and list elements), `$retainKeys`, `$deleteFromPrimitiveList/…`,
//! and `$setElementOrder/…` (accepted; order follows the original then the patch). A `null`
//! value deletes a key. The field name alone picks the merge key: within our kinds no two
//! fields of the same name have different strategies, which keeps this table small.

use serde_json::{Map, Value};

enum Strategy {
    MergeBy(&'static str),
    PrimitiveSet,
    Replace,
}

fn strategy(field: &str) -> Strategy {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => Strategy::MergeBy("name"),
        "ports" => Strategy::MergeBy("containerPort"),
        "volumeMounts" => Strategy::MergeBy("mountPath"),
        "volumeDevices" => Strategy::MergeBy("devicePath"),
        "conditions" | "addresses" => Strategy::MergeBy("type"),
        "ownerReferences" => Strategy::MergeBy("uid"),
        "hostAliases" => Strategy::MergeBy("ip"),
        "topologySpreadConstraints" => Strategy::MergeBy("topologyKey"),
        "finalizers" => Strategy::PrimitiveSet,
        _ => Strategy::Replace,
    }
}

/// Apply `patch` to `original`. Errors are the messages of a 422/400.
pub fn apply(original: &Value, patch: &Value) -> Result<Value, String> {
    match (original, patch) {
        (Value::Object(o), Value::Object(p)) => Ok(merge_map(o, p)?.unwrap_or(Value::Object(Map::new()))),
        (_, Value::Object(_)) => Err("strategic merge patch: the original is not an object".into()),
        _ => Err("strategic merge patch: the patch must be a JSON object".into()),
    }
}

/// None: the map is deleted (`$patch: delete`).
fn merge_map(orig: &Map<String, Value>, patch: &Map<String, Value>) -> Result<Option<Value>, String> {
    match patch.get("$patch") {
        None => {}
        Some(Value::String(s)) if s == "merge" => {}
        Some(Value::String(s)) if s == "replace" => return Ok(Some(strip(&Value::Object(patch.clone())))),
        Some(Value::String(s)) if s == "delete" => return Ok(None),
        Some(other) => return Err(format!("Unknown patch type: {other} in map: {}", Value::Object(patch.clone()))),
    }
    let mut out = orig.clone();
    if let Some(keys) = patch.get("$retainKeys") {
        let keys: Vec<&str> = keys
            .as_array()
            .ok_or("$retainKeys: must be a list of field names")?
            .iter()
            .map(|k| k.as_str().ok_or("$retainKeys: must be a list of field names"))
            .collect::<Result<_, _>>()?;
        out.retain(|k, _| keys.contains(&k.as_str()));
    }
    for (k, pv) in patch {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let del = pv.as_array().ok_or_else(|| format!("{k}: must be a list"))?;
            if let Some(Value::Array(list)) = out.get_mut(field) {
                list.retain(|v| !del.contains(v));
            }
            continue;
        }
        if pv.is_null() {
            out.remove(k);
            continue;
        }
        let merged = match (out.get(k), pv) {
            (Some(Value::Object(o)), Value::Object(p)) => merge_map(o, p)?,
            (None, Value::Object(p)) => merge_map(&Map::new(), p)?,
            (Some(Value::Array(o)), Value::Array(p)) => Some(merge_list(k, o, p)?),
            (None, Value::Array(p)) => Some(merge_list(k, &[], p)?),
            _ => Some(strip(pv)),
        };
        match merged {
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => {
                out.remove(k);
            }
        }
    }
    Ok(Some(Value::Object(out)))
}

fn directive(v: &Value) -> Option<&str> {
    v.as_object().and_then(|m| m.get("$patch")).and_then(Value::as_str)
}

fn merge_list(field: &str, orig: &[Value], patch: &[Value]) -> Result<Value, String> {
    // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
    if patch.iter().any(|e| directive(e) == Some("replace")) {
        return Ok(Value::Array(patch.iter().filter(|e| directive(e).is_none()).map(strip).collect()));
    }
    match strategy(field) {
        Strategy::Replace => Ok(Value::Array(patch.iter().map(strip).collect())),
        Strategy::PrimitiveSet => {
            let mut out = orig.to_vec();
            for e in patch {
                if !out.contains(e) {
                    out.push(e.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Strategy::MergeBy(key) => {
            let mut out = orig.to_vec();
            for pe in patch {
                let Some(pm) = pe.as_object() else {
                    return Err(format!("{field}: strategic merge patch element must be an object, got {pe}"));
                };
                let Some(kv) = pm.get(key) else {
                    return Err(format!("map: {pe} does not contain declared merge key: {key}"));
                };
                let idx = out.iter().position(|e| e.get(key) == Some(kv));
                if directive(pe) == Some("delete") {
                    if let Some(i) = idx {
                        out.remove(i);
                    }
                    continue;
                }
                match idx {
                    Some(i) => {
                        let merged = match &out[i] {
                            Value::Object(om) => merge_map(om, pm)?,
                            _ => Some(strip(pe)),
                        };
                        match merged {
                            Some(v) => out[i] = v,
                            None => {
                                out.remove(i);
                            }
                        }
                    }
                    None => out.push(strip(pe)),
                }
            }
            Ok(Value::Array(out))
        }
    }
}

/// A patch value with every directive removed (what it becomes when inserted as is).
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter().filter(|(k, v)| !k.starts_with('$') && !v.is_null()).map(|(k, v)| (k.clone(), strip(v))).collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().filter(|e| directive(e).is_none()).map(strip).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollout_restart_adds_a_template_annotation() {
        let ds = json!({"spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
        let p = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}}}});
        let out = apply(&ds, &p).unwrap_or_default();
        assert_eq!(out["spec"]["template"]["metadata"]["labels"]["app"], "a");
        assert_eq!(
            out["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], "i:1");
    }

    #[test]
    fn rollout_undo_replaces_the_template() {
        let ds = json!({"spec": {"template": {"metadata": {"annotations": {"x": "1"}}, "spec": {"containers": [{"name": "c", "image": "i:2"}, {"name": "d"}]}}}});
        let p = json!({"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
        let out = apply(&ds, &p).unwrap_or_default();
        assert_eq!(
            out["spec"]["template"],
            json!({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}})
        );
    }

    #[test]
    fn containers_merge_by_name_and_tolerations_replace() {
        let pod = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}], "tolerations": [{"key": "x"}]}});
        let p = json!({"spec": {"containers": [{"name": "b", "image": "3"}, {"name": "c", "image": "4"}], "tolerations": [{"key": "y"}]}});
        let out = apply(&pod, &p).unwrap_or_default();
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "a", "image": "1"}, {"name": "b", "image": "3"}, {"name": "c", "image": "4"}])
        );
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "y"}]));
    }

    #[test]
    fn delete_directive_and_null_remove() {
        let pod = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let p =
            json!({"metadata": {"labels": {"a": null}}, "spec": {"containers": [{"name": "a", "$patch": "delete"}]}});
        let out = apply(&pod, &p).unwrap_or_default();
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(out["spec"]["containers"], json!([{"name": "b"}]));
    }

    #[test]
    fn missing_merge_key_is_an_error() {
        let pod = json!({"spec": {"containers": [{"name": "a"}]}});
        assert!(apply(&pod, &json!({"spec": {"containers": [{"image": "x"}]}})).is_err());
        assert!(apply(&pod, &json!([1])).is_err());
    }
}
