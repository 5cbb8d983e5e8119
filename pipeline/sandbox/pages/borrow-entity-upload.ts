/** zhima.merchant.borrow.entity.upload (信用借还借用实体数据上传接口), seed 003, transcribed. */
import { contactNumber, dateTime, decimalIn, officeHours, wholeNumber } from '../checks.js';
import type { ApiPage } from './types.js';

export const BORROW_ENTITY_UPLOAD: ApiPage = {
  method: 'zhima.merchant.borrow.entity.upload',
  source: '003',
  request: [
    { name: 'product_code', type: 'String', required: true, maxLength: 20, enum: ['w1010100000000002858'], format: '信用借还的签约产品码,传入固定值:w1010100000000002858' },
    { name: 'category_code', type: 'String', required: true, maxLength: 32, enum: ['umbrella', 'power_bank'], format: '传入芝麻借还规定的类目Code,其他值会认为非法参数: 雨伞:umbrella 充电宝:power_bank' },
    { name: 'entity_code', type: 'String', required: true, maxLength: 32, format: '外部实体编号,唯一标识一个实体' },
    { name: 'longitude', type: 'String', required: true, maxLength: 20, format: '取值范围:经度-180~180', check: decimalIn(-180, 180) },
    { name: 'latitude', type: 'String', required: true, maxLength: 20, format: '取值范围:纬度-90~90', check: decimalIn(-90, 90) },
    { name: 'entity_name', type: 'String', required: true, maxLength: 20, format: '实体名称' },
    { name: 'address_desc', type: 'String', required: false, maxLength: 50, format: '地址描述' },
    { name: 'office_hours_desc', type: 'String', required: false, maxLength: 20, format: '营业时间,格式:xx:xx-xx:xx,24小时制,如果是昼夜00:00—24:00 (示例 09:00—22:00)', check: officeHours },
    { name: 'contact_number', type: 'String', required: false, maxLength: 20, format: '联系电话,手机11位数字,座机:区号-数字 (示例 0571-26888888)', check: contactNumber },
    { name: 'collect_rent', type: 'String', required: true, maxLength: 1, enum: ['Y', 'N'], format: 'Y:收租金,N:不收租金' },
    { name: 'rent_desc', type: 'String', required: false, maxLength: 30, format: '租金描述,例如:5元/小时,5-10元/小时' },
    { name: 'can_borrow', type: 'String', required: true, maxLength: 1, enum: ['Y', 'N'], format: 'Y:可借,N:不可借' },
    { name: 'can_borrow_cnt', type: 'String', required: true, maxLength: 5, format: '可借用数量', check: wholeNumber },
    { name: 'total_borrow_cnt', type: 'String', required: true, maxLength: 6, format: '借用总数', check: wholeNumber },
    { name: 'upload_time', type: 'String', required: true, maxLength: 19, format: '格式:yyyy-mm-dd hh:MM:ss', check: dateTime },
  ],
  response: [],
  errors: [
    { code: 'NULL_ARGUMENT', text: '参数为空' },
    { code: 'ILLEGAL_ARGUMENT', text: '参数格式或者长度非法' },
    { code: 'CATEGORY_CODE_ILLEGAL', text: '类目code参数非法' },
    { code: 'INFOSEC_VERIFY_FAILED', text: '信息含敏感内容' },
  ],
};
