//! The update-strategy form: parse and validate what the user typed before anything is sent,
//! with the rules the API server applies to DaemonSets
//! (kubernetes/pkg/apis/apps/validation `ValidateDaemonSetUpdateStrategy` and
//! `ValidateRollingUpdateDaemonSet`), so the user sees the problem in the form, not as a 422.
//!
//! Pure: no I/O. The patch that a valid strategy becomes is built by `cluster::actions::plan`.

use super::model::UpdateStrategy;

/// The strategy type chosen in the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrategyType {
    RollingUpdate,
    OnDelete,
}

/// What the form holds: the type and the two fields as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrategyForm {
    pub kind: StrategyType,
    pub max_unavailable: String,
    pub max_surge: String,
}

impl StrategyForm {
    /// The form pre-filled from the DaemonSet's current strategy (projections fill defaults).
    pub fn from_current(current: &UpdateStrategy) -> StrategyForm {
        match current {
            UpdateStrategy::RollingUpdate { max_unavailable, max_surge } => StrategyForm {
                kind: StrategyType::RollingUpdate,
                max_unavailable: max_unavailable.clone(),
                max_surge: max_surge.clone(),
            },
            // Switching back to RollingUpdate starts from the API defaults (1 and 0).
            UpdateStrategy::OnDelete => {
                StrategyForm { kind: StrategyType::OnDelete, max_unavailable: "1".into(), max_surge: "0".into() }
            }
        }
    }
}

/// An IntOrString value as the API accepts it for maxUnavailable/maxSurge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(i32),
    Percent(i32),
}

impl IntOrPercent {
    /// `getIntOrPercentValue`: the number, whether absolute or a percentage.
    pub fn value(self) -> i32 {
        match self {
            IntOrPercent::Int(v) | IntOrPercent::Percent(v) => v,
        }
    }

    /// `GetScaledValueFromIntOrPercent(v, total, roundUp=true)`: a percentage of `total`,
    /// rounded up, or the number itself (negative values count as 0).
    pub fn scaled(self, total: u32) -> u32 {
        match self {
            IntOrPercent::Int(v) => u32::try_from(v).unwrap_or(0),
            IntOrPercent::Percent(p) => (total * u32::try_from(p).unwrap_or(0)).div_ceil(100),
        }
    }
}

impl std::fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrPercent::Int(v) => write!(f, "{v}"),
            IntOrPercent::Percent(v) => write!(f, "{v}%"),
        }
    }
}

/// Which field an error is about (for placing the message in the form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    MaxUnavailable,
    MaxSurge,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::MaxUnavailable => "maxUnavailable",
            Field::MaxSurge => "maxSurge",
        }
    }
}

/// One problem with the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field.name(), self.message)
    }
}

/// A strategy that passed validation; only this can become a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidStrategy {
    RollingUpdate { max_unavailable: IntOrPercent, max_surge: IntOrPercent },
    OnDelete,
}

/// Parse one field: a non-negative integer, or a percentage `^[0-9]+%$` of at most 100
/// (`ValidatePositiveIntOrPercent` + `IsNotMoreThan100Percent`). Surrounding blanks are ignored.
pub fn parse_int_or_percent(field: Field, input: &str) -> Result<IntOrPercent, FieldError> {
    let err = |message: String| FieldError { field, message };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("required: an integer (e.g. 1) or a percentage (e.g. 10%)".into()));
    }
    if let Some(num) = s.strip_suffix('%') {
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(format!("{s:?} must be an integer or percentage (e.g '5%')")));
        }
        let v: i32 = num.parse().map_err(|_| err(format!("{s:?} is too large")))?;
        if v > 100 {
            return Err(err(format!("{s} must not be greater than 100%")));
        }
        return Ok(IntOrPercent::Percent(v));
    }
    if let Some(rest) = s.strip_prefix('-')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err(format!("{s} must be greater than or equal to 0")));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(format!("{s:?} must be an integer or percentage (e.g '5%')")));
    }
    s.parse::<i32>().map(IntOrPercent::Int).map_err(|_| err(format!("{s} is too large")))
}

/// Validate the whole form. All problems are returned at once so the form can show each.
pub fn validate(form: &StrategyForm) -> Result<ValidStrategy, Vec<FieldError>> {
    if form.kind == StrategyType::OnDelete {
        // Nothing else to check: the fields are ignored (and rollingUpdate is removed).
        return Ok(ValidStrategy::OnDelete);
    }
    let unavailable = parse_int_or_percent(Field::MaxUnavailable, &form.max_unavailable);
    let surge = parse_int_or_percent(Field::MaxSurge, &form.max_surge);
    match (unavailable, surge) {
        (Ok(u), Ok(s)) => {
            // ValidateRollingUpdateDaemonSet: exactly one of the two must be non-zero.
            match (u.value() != 0, s.value() != 0) {
                (true, true) => Err(vec![FieldError {
                    field: Field::MaxSurge,
                    message: "may not be set when maxUnavailable is non-zero".into(),
                }]),
                (false, false) => Err(vec![FieldError {
                    field: Field::MaxUnavailable,
                    message: "cannot be 0 when maxSurge is 0".into(),
                }]),
                _ => Ok(ValidStrategy::RollingUpdate { max_unavailable: u, max_surge: s }),
            }
        }
        (u, s) => Err([u.err(), s.err()].into_iter().flatten().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolling(u: &str, s: &str) -> StrategyForm {
        StrategyForm { kind: StrategyType::RollingUpdate, max_unavailable: u.into(), max_surge: s.into() }
    }

    #[test]
    fn ints_and_percentages_are_accepted() {
        assert_eq!(
            validate(&rolling("2", "0")),
            Ok(ValidStrategy::RollingUpdate { max_unavailable: IntOrPercent::Int(2), max_surge: IntOrPercent::Int(0) })
        );
        assert_eq!(
            validate(&rolling(" 0% ", "25%")),
            Ok(ValidStrategy::RollingUpdate {
                max_unavailable: IntOrPercent::Percent(0),
                max_surge: IntOrPercent::Percent(25)
            })
        );
    }

    #[test]
    fn both_zero_is_rejected_like_the_api_server() {
        let errs = validate(&rolling("0", "0%")).unwrap_err();
        assert_eq!(
            errs,
            vec![FieldError { field: Field::MaxUnavailable, message: "cannot be 0 when maxSurge is 0".into() }]
        );
    }

    #[test]
    fn both_non_zero_is_rejected_like_the_api_server() {
        let errs = validate(&rolling("1", "1")).unwrap_err();
        assert_eq!(errs[0].field, Field::MaxSurge);
        assert_eq!(errs[0].message, "may not be set when maxUnavailable is non-zero");
    }

    #[test]
    fn negative_over_100_percent_and_garbage_are_rejected() {
        assert!(
            parse_int_or_percent(Field::MaxSurge, "-1").unwrap_err().message.contains("greater than or equal to 0")
        );
        assert!(parse_int_or_percent(Field::MaxSurge, "101%").unwrap_err().message.contains("100%"));
        assert!(parse_int_or_percent(Field::MaxSurge, "5 %").is_err());
        assert!(parse_int_or_percent(Field::MaxSurge, "abc").is_err());
        assert!(parse_int_or_percent(Field::MaxSurge, "%").is_err());
        assert!(parse_int_or_percent(Field::MaxSurge, "").is_err());
        assert!(parse_int_or_percent(Field::MaxSurge, "99999999999").is_err());
        assert_eq!(parse_int_or_percent(Field::MaxSurge, "100%"), Ok(IntOrPercent::Percent(100)));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errs = validate(&rolling("x", "-2")).unwrap_err();
        assert_eq!(errs.iter().map(|e| e.field).collect::<Vec<_>>(), vec![Field::MaxUnavailable, Field::MaxSurge]);
    }

    #[test]
    fn on_delete_ignores_the_rolling_fields() {
        let form = StrategyForm { kind: StrategyType::OnDelete, max_unavailable: "junk".into(), max_surge: "9".into() };
        assert_eq!(validate(&form), Ok(ValidStrategy::OnDelete));
    }

    #[test]
    fn form_is_prefilled_from_the_current_strategy() {
        let f = StrategyForm::from_current(&UpdateStrategy::RollingUpdate {
            max_unavailable: "3".into(),
            max_surge: "0".into(),
        });
        assert_eq!(f, rolling("3", "0"));
        assert_eq!(StrategyForm::from_current(&UpdateStrategy::OnDelete).kind, StrategyType::OnDelete);
    }
}
