-- re-creation of getkaiwa/kaiwa-server:Docker/app/config/prosody-ldap.cfg.lua@854a239bb7747cbe5041765fe9d4eee29eec8cc0 (licence MIT); not a copy
-- Overrides the main file's authentication and routes some stores to LDAP
-- (mod_storage_ldap, mod_auth_ldap2 shipped alongside), archives to sql2.

authentication = 'ldap2'

storage = {
	roster = "ldap";
	vcard = "ldap";
	archive2 = "sql2";
	muc_log = "sql2";
}

ldap = {
	hostname = '{{LDAP_HOST}}',
	bind_dn = '{{LDAP_DN}}',
	bind_password = '{{LDAP_PWD}}',
	user = {
		basedn = 'ou=users,{{LDAP_BASE}}',
		filter = '(&(objectClass=person)(!(uid=seven)))',
		usernamefield = 'uid',
		namefield = 'cn',
	},
	groups = {
		basedn = 'ou=groups,{{LDAP_BASE}}',
		memberfield = 'member',
		namefield = 'cn',
		{ name = '{{LDAP_GROUP}}', cn = '{{LDAP_GROUP}}', admin = false },
		{ name = 'admins', cn = 'admins', admin = true },
	},
	vcard_format = {
		displayname = 'cn',
		nickname = 'uid',
		name = { family = 'sn', given = 'givenName' },
		photo = { type = 'image/jpeg', binval = 'jpegPhoto' },
		telephone = { work = { number = 'telephoneNumber' } },
		address = { work = { street = 'street', pcode = 'postalCode', locality = 'l', ctry = 'c' } },
		email = { internet = { userid = 'mail' } },
	},
}
