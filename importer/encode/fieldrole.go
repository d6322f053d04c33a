package encode

// fieldRole is what the mapping does with a default field beyond
// converting it, told by its name: worked out once, when the field is
// bound, rather than from the name on every row.
type fieldRole uint8

const (
	roleNone fieldRole = iota
	roleEmail
	rolePhone
	roleCountry
	roleAge
	roleCurrency
	roleEventGroupID
	roleUnitSalePrice
	roleQuantity
)

// roleOf returns the role of a default field's name; custom fields have
// none.
func roleOf(f *Field) fieldRole {
	if f.Custom {
		return roleNone
	}
	return roleOfName(f.Name)
}

func roleOfName(name string) fieldRole {
	switch name {
	case "email":
		return roleEmail
	case "phone_number":
		return rolePhone
	case "country":
		return roleCountry
	case "age":
		return roleAge
	case "currency":
		return roleCurrency
	case "event_group_id":
		return roleEventGroupID
	case "unit_sale_price":
		return roleUnitSalePrice
	case "quantity":
		return roleQuantity
	}
	return roleNone
}

// requiredBit numbers the params some event requires, so that mapEvent
// tracks which are present in a bit set rather than a map.
func requiredBit(param string) uint8 { return roleOfName(param).bit() }

// bit is a role's requiredBit: 0 for the roles of params no event
// requires.
func (r fieldRole) bit() uint8 {
	switch r {
	case roleEventGroupID:
		return 1
	case roleCurrency:
		return 2
	case roleUnitSalePrice:
		return 4
	case roleQuantity:
		return 8
	}
	return 0
}
