//! A serde `Serializer` that writes nothing: it follows the typed model's serialisation alongside
//! the input JSON and reports the input keys the model did not write (see [`crate::unknown`]).
//!
//! It replaces serialising the model to a `serde_json::Value` and comparing the two trees, which
//! built and dropped a second copy of every resource: half of validation's cost on a typical HNA.
//! It sees the JSON shapes `serde_json` would produce (structs and maps as objects, sequences as
//! arrays, newtype enum variants as one-key objects), so the keys compared are exactly those
//! `serde_json::to_value` would have written. Tuple and struct variants, which fhir-sdk does not
//! use, stop it with [`Stop::Shape`], and the caller compares the old way.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::{Map, Value};

use crate::paths::{push_index, push_key};
use crate::unknown::Found;

/// Why the mirror stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The model refused to write what it parsed; the caller finds where with a path-tracking
    /// serialisation.
    Refused,
    /// A shape the mirror does not follow (tuple or struct enum variants, which fhir-sdk does not
    /// use today); the caller compares through `serde_json::Value` instead.
    Shape,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stop::Refused => "the model could not be written",
            Stop::Shape => "a shape the mirror does not follow",
        })
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop::Refused
    }
}

/// Serialises `typed` against `input`, recording unknown input keys in `found`.
pub(crate) fn mirror<T: Serialize + ?Sized>(
    typed: &T,
    input: &Value,
    found: &mut Found,
) -> Result<(), Stop> {
    typed.serialize(Mirror {
        input: Some(input),
        found,
    })
}

/// The serializer at one position: the input value there, if the input has one.
struct Mirror<'a, 'f> {
    input: Option<&'a Value>,
    found: &'f mut Found,
}

impl<'a, 'f> Mirror<'a, 'f> {
    fn object(self) -> Object<'a, 'f> {
        let input = match self.input {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        };
        Object {
            input,
            found: self.found,
            written: Vec::new(),
            key: None,
        }
    }

    fn array(self) -> Array<'a, 'f> {
        let input = match self.input {
            Some(Value::Array(a)) => Some(a.as_slice()),
            _ => None,
        };
        Array {
            input,
            found: self.found,
            next: 0,
        }
    }
}

/// A struct or map being written: the input object and which of its keys were written.
struct Object<'a, 'f> {
    input: Option<&'a Map<String, Value>>,
    found: &'f mut Found,
    written: Vec<&'a str>,
    /// The key of a map entry whose value comes next (`serialize_key` then `serialize_value`).
    key: Option<String>,
}

impl<'a> Object<'a, '_> {
    /// Marks `key` written and returns the input under it.
    fn enter(&mut self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.input?.get_key_value(key)?;
        self.written.push(k.as_str());
        Some(v)
    }

    /// Writes the value of `key`: compared with the input's, under the key's path.
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Stop> {
        let input = self.enter(key);
        below(self.found, input, |path| push_key(path, key), value)
    }

    /// Reports the input keys nothing was written for.
    fn end(self) {
        let Some(input) = self.input else {
            return;
        };
        if self.written.len() == input.len() {
            return;
        }
        for (key, value) in input {
            if !self.written.contains(&key.as_str()) {
                self.found.dropped(key, value, input);
            }
        }
    }
}

/// A sequence being written: element `i` is compared with the input's element `i`.
struct Array<'a, 'f> {
    input: Option<&'a [Value]>,
    found: &'f mut Found,
    next: usize,
}

impl Array<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let i = self.next;
        self.next += 1;
        let input = self.input.and_then(|a| a.get(i));
        below(self.found, input, |path| push_index(path, i), value)
    }
}

/// Writes `value` against `input`, one level down: under the path segment `segment` appends when
/// the input has something below to compare. Primitives are not compared, but still written, so
/// that a value the model cannot write is refused as before.
fn below<T: Serialize + ?Sized>(
    found: &mut Found,
    input: Option<&Value>,
    segment: impl FnOnce(&mut String),
    value: &T,
) -> Result<(), Stop> {
    if !matches!(input, Some(Value::Object(_) | Value::Array(_))) {
        return value.serialize(Mirror { input: None, found });
    }
    let len = found.path.len();
    segment(&mut found.path);
    let result = value.serialize(Mirror { input, found });
    found.path.truncate(len);
    result
}

/// Map keys: serde_json writes strings, and numbers and booleans as their text.
struct Key;

macro_rules! key_as_text {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<String, Stop> {
            Ok(v.to_string())
        })*
    };
}

impl ser::Serializer for Key {
    type Ok = String;
    type Error = Stop;
    type SerializeSeq = Impossible<String, Stop>;
    type SerializeTuple = Impossible<String, Stop>;
    type SerializeTupleStruct = Impossible<String, Stop>;
    type SerializeTupleVariant = Impossible<String, Stop>;
    type SerializeMap = Impossible<String, Stop>;
    type SerializeStruct = Impossible<String, Stop>;
    type SerializeStructVariant = Impossible<String, Stop>;

    key_as_text!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_char: char, serialize_str: &str);

    fn serialize_f32(self, _: f32) -> Result<String, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_f64(self, _: f64) -> Result<String, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_none(self) -> Result<String, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_unit(self) -> Result<String, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, Stop> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop> {
        Err(Stop::Refused)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(Stop::Refused)
    }
}

macro_rules! primitive {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, _: $ty) -> Result<(), Stop> {
            Ok(())
        })*
    };
}

impl<'a, 'f> ser::Serializer for Mirror<'a, 'f> {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Array<'a, 'f>;
    type SerializeTuple = Array<'a, 'f>;
    type SerializeTupleStruct = Array<'a, 'f>;
    type SerializeTupleVariant = Impossible<(), Stop>;
    type SerializeMap = Object<'a, 'f>;
    type SerializeStruct = Object<'a, 'f>;
    type SerializeStructVariant = Impossible<(), Stop>;

    primitive!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str, serialize_bytes: &[u8],
        serialize_unit_struct: &'static str);

    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        let mut object = self.object();
        object.field(variant, value)?;
        object.end();
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Array<'a, 'f>, Stop> {
        Ok(self.array())
    }
    fn serialize_tuple(self, _: usize) -> Result<Array<'a, 'f>, Stop> {
        Ok(self.array())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Array<'a, 'f>, Stop> {
        Ok(self.array())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<(), Stop>, Stop> {
        Err(Stop::Shape)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'a, 'f>, Stop> {
        Ok(self.object())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'a, 'f>, Stop> {
        Ok(self.object())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<(), Stop>, Stop> {
        Err(Stop::Shape)
    }
}

/// Sequences, tuples and tuple structs are all JSON arrays: element `i` against the input's `i`.
macro_rules! array_like {
    ($($trait:ident :: $method:ident),*) => {
        $(impl ser::$trait for Array<'_, '_> {
            type Ok = ();
            type Error = Stop;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
                self.element(value)
            }
            fn end(self) -> Result<(), Stop> {
                Ok(())
            }
        })*
    };
}

array_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl ser::SerializeMap for Object<'_, '_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.key = Some(key.serialize(Key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let key = self.key.take().ok_or(Stop::Refused)?;
        self.field(&key, value)
    }
    fn end(self) -> Result<(), Stop> {
        Object::end(self);
        Ok(())
    }
}

impl ser::SerializeStruct for Object<'_, '_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Stop> {
        Object::end(self);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::unknown::unknown_elements;

    /// The mirror finds what comparing two trees finds. A `Value` serialises with the same shapes
    /// as a model, so the "model's output" can be written down as JSON.
    fn both(input: &Value, output: &Value) -> (Vec<String>, Vec<String>) {
        let mut found = Found::new("Patient");
        let mirrored = mirror(output, input, &mut found);
        assert!(mirrored.is_ok());
        let paths = |issues: Vec<crate::Issue>| issues.into_iter().map(|i| i.path).collect();
        (
            paths(found.finish("Patient")),
            paths(unknown_elements("Patient", input, output)),
        )
    }

    #[test]
    fn reports_the_keys_the_model_did_not_write_as_the_tree_comparison_does() {
        let input = json!({"resourceType": "Patient", "name": [{"family": "A", "nick": "x"}],
            "colour": "blue", "empty": {}, "link": [{"other": {"reference": "Patient/1"}}],
            "_birthDate": {"extension": []}});
        let output = json!({"resourceType": "Patient", "name": [{"family": "A"}],
            "link": [{"other": {"reference": "Patient/1"}}]});
        let (mut mirrored, mut compared) = both(&input, &output);
        // Order follows the map's key order, which depends on serde_json's features.
        mirrored.sort();
        compared.sort();
        assert_eq!(
            mirrored,
            [
                "Patient._birthDate",
                "Patient.colour",
                "Patient.name[0].nick"
            ]
        );
        assert_eq!(mirrored, compared);
    }

    #[test]
    fn nothing_is_reported_when_everything_was_written() {
        let input = json!({"resourceType": "Patient", "name": [{"given": ["A", "B"]}]});
        assert_eq!(both(&input, &input), (vec![], vec![]));
    }

    struct StructVariant;

    impl Serialize for StructVariant {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use ser::SerializeStructVariant as _;
            let v = s.serialize_struct_variant("E", 0, "v", 1)?;
            v.end()
        }
    }

    #[test]
    fn an_unfollowed_shape_stops_the_mirror() {
        let mut found = Found::new("Patient");
        let r = mirror(&StructVariant, &json!({"v": {}}), &mut found);
        assert!(matches!(r, Err(Stop::Shape)));
    }
}
