-- re-creation of SaraSmiseth/prosody:conf.d/04-server_contact_info.cfg.lua@4bbcdb80e9dc3d290f9c1883b554b2f8c98a0a21 (licence none stated); not a copy
local stringy = require "stringy"

contact_info = {
	abuse = stringy.split(os.getenv("SERVER_CONTACT_INFO_ABUSE"), ", ");
	admin = stringy.split(os.getenv("SERVER_CONTACT_INFO_ADMIN"), ", ");
	feedback = stringy.split(os.getenv("SERVER_CONTACT_INFO_FEEDBACK"), ", ");
	sales = stringy.split(os.getenv("SERVER_CONTACT_INFO_SALES"), ", ");
	security = stringy.split(os.getenv("SERVER_CONTACT_INFO_SECURITY"), ", ");
	support = stringy.split(os.getenv("SERVER_CONTACT_INFO_SUPPORT"), ", ");
}
