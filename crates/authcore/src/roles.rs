//! Role requirements as types, so that a handler states what it needs in its signature
//! (`Authorized<Admin>` in every adapter) and the check itself lives here.

use crate::Claims;

/// A requirement on the roles of a verified token. Declare one per role with
/// [`role!`](crate::role); tuples require all of their members; `()` requires nothing.
///
/// ```
/// authcore::role!(
///     /// Administrators.
///     pub Admin = "admin"
/// );
/// authcore::role!(pub Ops = "ops");
///
/// use authcore::RequiredRoles;
/// # let t = authcore::testing::TestAuth::new();
/// # let claims: authcore::Claims = authcore::TokenVerifier::verify(&*t.jwt, &t.mint("u", &["admin"]).unwrap()).unwrap();
/// assert!(Admin::allows(&claims));
/// assert!(!<(Admin, Ops)>::allows(&claims));
/// assert_eq!(<(Admin, Ops)>::describe(), ["admin", "ops"]);
/// ```
pub trait RequiredRoles: Send + Sync + 'static {
    /// `true` if `claims` meet the requirement.
    fn allows<E>(claims: &Claims<E>) -> bool;

    /// The role names required, for documentation and logs.
    fn describe() -> Vec<&'static str>;
}

impl RequiredRoles for () {
    fn allows<E>(_: &Claims<E>) -> bool {
        true
    }

    fn describe() -> Vec<&'static str> {
        Vec::new()
    }
}

macro_rules! all_of {
    ($($name:ident),+) => {
        impl<$($name: RequiredRoles),+> RequiredRoles for ($($name,)+) {
            fn allows<E>(claims: &Claims<E>) -> bool {
                $($name::allows(claims))&&+
            }

            fn describe() -> Vec<&'static str> {
                let mut all = Vec::new();
                $(all.extend($name::describe());)+
                all
            }
        }
    };
}

all_of!(A);
all_of!(A, B);
all_of!(A, B, C);
all_of!(A, B, C, D);

/// Declares a unit struct that requires one role:
/// `authcore::role!(pub Admin = "admin");`
#[macro_export]
macro_rules! role {
    ($(#[$meta:meta])* $vis:vis $name:ident = $role:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        $vis struct $name;

        impl $crate::RequiredRoles for $name {
            fn allows<E>(claims: &$crate::Claims<E>) -> bool {
                claims.has_role($role)
            }

            fn describe() -> ::std::vec::Vec<&'static str> {
                ::std::vec![$role]
            }
        }
    };
}
