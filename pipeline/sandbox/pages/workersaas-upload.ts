/** alipay.ins.scene.contract.workersaas.upload (宠物险-灵工协议上传), seed 000, transcribed. */
import { dateTime, fileList, idNumber, jsonText, mobile } from '../checks.js';
import type { ApiPage } from './types.js';

export const WORKERSAAS_UPLOAD: ApiPage = {
  method: 'alipay.ins.scene.contract.workersaas.upload',
  source: '000',
  request: [
    { name: 'sign_order_no', type: 'String', required: true, maxLength: 64, format: '灵工协议签约订单号' },
    { name: 'sign_time', type: 'Date', required: true, maxLength: 32, format: '签约时间 (示例 2024-05-29 00:00:00)', check: dateTime },
    { name: 'real_name', type: 'String', required: true, maxLength: 64, format: '签约人真实姓名' },
    { name: 'id_card', type: 'String', required: true, maxLength: 32, format: '签约人身份证号', check: (v) => idNumber(v) },
    { name: 'phone', type: 'String', required: true, maxLength: 32, format: '签约人手机号码 (示例 13112345678)', check: mobile },
    { name: 'payload', type: 'String', required: true, maxLength: 256, format: '透传参数 (示例 自定义json串)', check: jsonText },
    { name: 'files', type: 'String', required: true, maxLength: 512, format: '灵工协议文件列表 (自定义jsonArray字符串，元素属性fileName、fileUrl)', check: fileList },
  ],
  response: ['biz_success'],
  errors: [
    { code: 'SYSTEM_ERROR', text: '系统繁忙' },
    { code: 'INVALID_PARAMETER', text: '参数有误' },
  ],
};
